//! The images a server holds and their factorisations, cached under a memory budget.
//!
//! Each image is decoded once. Each colour model it is looked at in (rgb, ycbcr, gray) is
//! factored once, in the background: a randomized preview first when the image is large,
//! then the exact factors. Requests wait on a watch channel for what they need. When the
//! images and factors together pass the budget, the least recently used factorisations
//! are dropped first, then the least recently used uploads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use faer::Par;
use svdimg::{ColorModel, Limits, Picture, Planes, StoredColor, View};
use tokio::sync::watch;

/// Images at most this many pixels get their exact factors at once, without a preview.
const PREVIEW_ABOVE: usize = 640 * 640;
/// Components in a preview.
const PREVIEW_RANK: usize = 64;

/// What is known of one image in one colour model so far.
#[derive(Debug, Clone, Default)]
pub struct Factored {
    /// A randomized SVD of the leading components (large images only).
    pub preview: Option<Arc<View>>,
    /// The exact factors.
    pub exact: Option<Arc<View>>,
    /// Why the factorisation failed.
    pub error: Option<String>,
}

impl Factored {
    /// The exact factors, else the preview.
    pub fn best(&self) -> Option<Arc<View>> {
        self.exact.clone().or_else(|| self.preview.clone())
    }
}

/// Where an image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The built-in sample.
    Sample,
    /// A file named on the command line: never evicted.
    File,
    /// Uploaded through the API: evicted last, and then gone.
    Upload,
}

/// One decoded image and its factorisations.
pub struct Image {
    pub id: String,
    pub name: String,
    pub origin: Origin,
    /// The size of the file it was decoded from.
    pub input_bytes: u64,
    pub model: ColorModel,
    /// Colour planes (gray, or R G B) and alpha, on the [0, 1] scale.
    pub planes: Planes<f32>,
    views: Mutex<HashMap<&'static str, Slot>>,
    last_used: AtomicU64,
}

struct Slot {
    color: StoredColor,
    sender: watch::Sender<Factored>,
    last_used: u64,
}

impl Image {
    /// The colour model shown when none is asked for: rgb, or gray for a gray image.
    pub fn default_color(&self) -> StoredColor {
        if self.planes.color.len() == 3 {
            StoredColor::Rgb
        } else {
            StoredColor::Gray
        }
    }

    pub fn pixels(&self) -> usize {
        self.planes.width * self.planes.height
    }

    fn planes_bytes(&self) -> u64 {
        let planes = self.planes.color.len() + usize::from(self.planes.alpha.is_some());
        4 * (planes * self.pixels()) as u64
    }

    fn views(&self) -> MutexGuard<'_, HashMap<&'static str, Slot>> {
        self.views.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What each colour model has so far: `none`, `computing`, `preview`, `exact` or
    /// `failed`.
    pub fn status(&self) -> Vec<(&'static str, &'static str)> {
        let views = self.views();
        let mut out: Vec<_> = views
            .iter()
            .map(|(name, slot)| {
                let f = slot.sender.borrow();
                let state = if f.error.is_some() {
                    "failed"
                } else if f.exact.is_some() {
                    "exact"
                } else if f.preview.is_some() {
                    "preview"
                } else {
                    "computing"
                };
                (*name, state)
            })
            .collect();
        out.sort();
        out
    }
}

/// Counts of what the store holds, for `/api/status`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Usage {
    pub images: usize,
    pub factorisations: usize,
    /// Bytes of image planes and factors held.
    pub bytes: u64,
    pub budget: u64,
    pub evicted: u64,
}

/// Every image and factorisation of a server.
pub struct Store {
    budget: u64,
    limits: Limits,
    images: Mutex<Vec<Arc<Image>>>,
    clock: AtomicU64,
    next_upload: AtomicU64,
    evicted: AtomicU64,
    /// One preview at a time, and one exact factorisation at a time: the SVD uses every
    /// core, and its working memory is bounded this way.
    preview_lane: Mutex<()>,
    exact_lane: Mutex<()>,
    /// The exact factorisations run on threads of their own: on rayon's global pool a
    /// long SVD would hold every worker, and renders (which use that pool) would wait
    /// for it to end. Apart, the two share the cores.
    background: rayon::ThreadPool,
    /// The float64 factors of the lesson mode: one image's at a time.
    lesson: Mutex<Option<(String, Arc<Lessoned>)>>,
}

/// The lessons' float64 SVDs of one image, made on a copy reduced `shrink` times when the
/// image is larger than [`LESSON_PIXELS`].
pub struct Lessoned {
    pub lesson: svdimg::Lesson,
    pub shrink: usize,
}

/// The largest image the lesson mode factors in float64 at its own size (about 1.5 MP:
/// about a second, and 100 MB of factors); larger ones are reduced to fit.
pub const LESSON_PIXELS: usize = 1_500_000;

impl Store {
    pub fn new(budget: u64, max_pixels: u64) -> Self {
        Store {
            budget,
            limits: Limits {
                max_pixels,
                ..Limits::default()
            },
            images: Mutex::new(Vec::new()),
            clock: AtomicU64::new(1),
            next_upload: AtomicU64::new(1),
            evicted: AtomicU64::new(0),
            preview_lane: Mutex::new(()),
            exact_lane: Mutex::new(()),
            background: rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("svdimg-factor-{i}"))
                .build()
                .expect("cannot start the factorisation threads"),
            lesson: Mutex::new(None),
        }
    }

    fn images(&self) -> MutexGuard<'_, Vec<Arc<Image>>> {
        self.images.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// Decodes `bytes` and adds the image under `id` (a fresh one for uploads).
    pub fn add(
        &self,
        bytes: &[u8],
        name: String,
        origin: Origin,
        id: Option<String>,
    ) -> svdimg::Result<Arc<Image>> {
        let picture = Picture::decode(bytes, &self.limits)?;
        let model = picture.color_model();
        let planes = picture.planes::<f32>(false);
        drop(picture);
        let id = id.unwrap_or_else(|| {
            // Unguessable enough that one page cannot stumble on another's upload.
            let n = self.next_upload.fetch_add(1, Ordering::Relaxed);
            let salt = std::hash::BuildHasher::hash_one(
                &std::collections::hash_map::RandomState::new(),
                n,
            );
            format!("u{n}-{:08x}", salt as u32)
        });
        let image = Arc::new(Image {
            id,
            name,
            origin,
            input_bytes: bytes.len() as u64,
            model,
            planes,
            views: Mutex::new(HashMap::new()),
            last_used: AtomicU64::new(self.tick()),
        });
        self.images().push(Arc::clone(&image));
        self.enforce_budget(Some(&image.id), None);
        Ok(image)
    }

    /// The image with this id, marked as used.
    pub fn get(&self, id: &str) -> Option<Arc<Image>> {
        let image = self.images().iter().find(|i| i.id == id).cloned()?;
        image.last_used.store(self.tick(), Ordering::Relaxed);
        Some(image)
    }

    pub fn list(&self) -> Vec<Arc<Image>> {
        self.images().clone()
    }

    /// The factorisation of `image` in `color`, started in the background if it is not
    /// cached: a receiver that sees the preview, then the exact factors (or an error).
    pub fn factors(
        self: &Arc<Self>,
        image: &Arc<Image>,
        color: StoredColor,
    ) -> watch::Receiver<Factored> {
        let now = self.tick();
        let mut views = image.views();
        if let Some(slot) = views.get_mut(color.as_str()) {
            slot.last_used = now;
            return slot.sender.subscribe();
        }
        let (sender, receiver) = watch::channel(Factored::default());
        views.insert(
            color.as_str(),
            Slot {
                color,
                sender: sender.clone(),
                last_used: now,
            },
        );
        drop(views);
        let (store, image) = (Arc::clone(self), Arc::clone(image));
        std::thread::spawn(move || store.factor(&image, color, &sender));
        receiver
    }

    /// The background job: preview (large images), then exact factors.
    fn factor(&self, image: &Image, color: StoredColor, sender: &watch::Sender<Factored>) {
        let planes = &image.planes;
        let par = Par::rayon(0);
        let planes_count = color.plane_names().len();
        let need = View::exact_bytes(planes.width, planes.height, planes_count);
        if need + image.planes_bytes() > self.budget {
            sender.send_modify(|f| {
                f.error = Some(format!(
                    "its exact factors need {} MB, more than the server's --memory of {} MB",
                    need.div_ceil(1 << 20),
                    self.budget >> 20
                ))
            });
            return;
        }
        if image.pixels() > PREVIEW_ABOVE {
            let lane = self.preview_lane.lock().unwrap_or_else(|e| e.into_inner());
            match View::preview(planes, color, PREVIEW_RANK, par) {
                Ok(v) => sender.send_modify(|f| f.preview = Some(Arc::new(v))),
                Err(e) => sender.send_modify(|f| f.error = Some(e.to_string())),
            }
            drop(lane);
            self.enforce_budget(Some(&image.id), Some(color));
        }
        let lane = self.exact_lane.lock().unwrap_or_else(|e| e.into_inner());
        // Evicted while waiting: nobody needs it now.
        if !self.holds(image, color) {
            return;
        }
        let result = self.background.install(|| View::exact(planes, color, par));
        drop(lane);
        match result {
            Ok(v) => sender.send_modify(|f| {
                f.exact = Some(Arc::new(v));
                f.preview = None;
                // A failed preview does not matter once the exact factors exist.
                f.error = None;
            }),
            Err(e) => sender.send_modify(|f| f.error = Some(e.to_string())),
        }
        self.enforce_budget(Some(&image.id), Some(color));
    }

    /// The lessons' float64 SVDs of `image`, computed on the calling thread unless they
    /// are the ones held (the last image asked for).
    pub fn lesson(&self, image: &Image) -> svdimg::Result<Arc<Lessoned>> {
        let mut held = self.lesson.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((id, l)) = held.as_ref() {
            if *id == image.id {
                return Ok(Arc::clone(l));
            }
        }
        *held = None;
        let pixels = image.pixels();
        let shrink = if pixels > LESSON_PIXELS {
            (pixels as f64 / LESSON_PIXELS as f64).sqrt().ceil() as usize
        } else {
            1
        };
        let lesson = svdimg::Lesson::from_f32(&image.planes, shrink, Par::rayon(0))?;
        let l = Arc::new(Lessoned { lesson, shrink });
        *held = Some((image.id.clone(), Arc::clone(&l)));
        Ok(l)
    }

    fn holds(&self, image: &Image, color: StoredColor) -> bool {
        image.views().contains_key(color.as_str())
    }

    /// Bytes of planes and factors held now.
    pub fn usage(&self) -> Usage {
        let images = self.images();
        let mut usage = Usage {
            images: images.len(),
            factorisations: 0,
            bytes: 0,
            budget: self.budget,
            evicted: self.evicted.load(Ordering::Relaxed),
        };
        for image in images.iter() {
            usage.bytes += image.planes_bytes();
            for slot in image.views().values() {
                let f = slot.sender.borrow();
                let held: u64 = [&f.preview, &f.exact]
                    .into_iter()
                    .flatten()
                    .map(|v| v.heap_bytes())
                    .sum();
                usage.factorisations += usize::from(held > 0);
                usage.bytes += held;
            }
        }
        usage
    }

    /// Drops least recently used factorisations, then uploads, until the budget holds.
    /// The image `keep` (and its factorisation in `keep_color`) is dropped last of all:
    /// never, while something else can go.
    fn enforce_budget(&self, keep: Option<&str>, keep_color: Option<StoredColor>) {
        while self.usage().bytes > self.budget {
            if !self.evict_one(keep, keep_color) {
                return;
            }
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn evict_one(&self, keep: Option<&str>, keep_color: Option<StoredColor>) -> bool {
        let mut images = self.images();
        // The least recently used factorisation that holds factors.
        let mut oldest: Option<(u64, usize, &'static str)> = None;
        for (i, image) in images.iter().enumerate() {
            for (name, slot) in image.views().iter() {
                let kept = keep == Some(image.id.as_str()) && keep_color == Some(slot.color);
                let held = slot.sender.borrow().best().is_some();
                if !kept && held && oldest.is_none_or(|(t, ..)| slot.last_used < t) {
                    oldest = Some((slot.last_used, i, name));
                }
            }
        }
        if let Some((_, i, name)) = oldest {
            images[i].views().remove(name);
            return true;
        }
        // Then the least recently used upload.
        let upload = images
            .iter()
            .enumerate()
            .filter(|(_, im)| im.origin == Origin::Upload && keep != Some(im.id.as_str()))
            .min_by_key(|(_, im)| im.last_used.load(Ordering::Relaxed))
            .map(|(i, _)| i);
        match upload {
            Some(i) => {
                images.remove(i);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample's planes (3 × 4 bytes a pixel).
    const PLANES: u64 = 12 * 256 * 256;

    /// The sample's exact factors in a colour model of three planes.
    fn factors_bytes() -> u64 {
        View::exact_bytes(256, 256, 3)
    }

    async fn exact(store: &Arc<Store>, image: &Arc<Image>, color: StoredColor) -> Factored {
        let mut receiver = store.factors(image, color);
        let factored = receiver
            .wait_for(|f| f.exact.is_some() || f.error.is_some())
            .await
            .unwrap()
            .clone();
        factored
    }

    /// Waits up to 5 s for `done`: a background job finishes after what a test awaits.
    async fn eventually(done: impl Fn() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// With room for about two factorisations, the least recently used goes first, and
    /// what is held stays within the budget.
    #[tokio::test]
    async fn least_recently_used_factors_are_dropped() {
        let budget = 2 * PLANES + 2 * factors_bytes() + factors_bytes() / 2;
        let store = Arc::new(Store::new(budget, 1 << 30));
        let a = store
            .add(
                svdimg::SAMPLE_PNG,
                "a".into(),
                Origin::File,
                Some("a".into()),
            )
            .unwrap();
        let b = store
            .add(
                svdimg::SAMPLE_PNG,
                "b".into(),
                Origin::File,
                Some("b".into()),
            )
            .unwrap();
        assert!(exact(&store, &a, StoredColor::Rgb).await.exact.is_some());
        assert!(exact(&store, &b, StoredColor::Rgb).await.exact.is_some());
        assert_eq!(store.usage().factorisations, 2);
        assert_eq!(store.usage().evicted, 0);
        // Use a again, then factor b in another model: a's are the most recent, so b's
        // rgb factors go.
        assert!(store.get("a").is_some());
        drop(store.factors(&a, StoredColor::Rgb));
        assert!(exact(&store, &b, StoredColor::YCbCr).await.exact.is_some());
        // The job makes room just after it publishes the factors.
        eventually(|| store.usage().evicted > 0).await;
        let usage = store.usage();
        assert!(usage.bytes <= budget, "{usage:?}");
        assert_eq!(usage.evicted, 1);
        assert_eq!(a.status(), vec![("rgb", "exact")]);
        assert_eq!(b.status(), vec![("ycbcr", "exact")]);
    }

    /// Uploads go when factors alone are not enough; files named on the command line stay.
    #[tokio::test]
    async fn uploads_are_dropped_last_and_files_never() {
        let store = Arc::new(Store::new(PLANES + factors_bytes(), 1 << 30));
        let file = store
            .add(
                svdimg::SAMPLE_PNG,
                "f".into(),
                Origin::File,
                Some("f1".into()),
            )
            .unwrap();
        assert!(exact(&store, &file, StoredColor::Rgb).await.exact.is_some());
        let up = store
            .add(svdimg::SAMPLE_PNG, "u".into(), Origin::Upload, None)
            .unwrap();
        // The upload pushed the file's factors out.
        assert_eq!(store.usage().factorisations, 0);
        assert!(file.status().is_empty());
        // Factoring a second upload pushes the first upload out, but never the file.
        let second = store
            .add(svdimg::SAMPLE_PNG, "u2".into(), Origin::Upload, None)
            .unwrap();
        assert!(store.get(&up.id).is_some());
        assert!(exact(&store, &second, StoredColor::Rgb)
            .await
            .exact
            .is_some());
        eventually(|| store.get(&up.id).is_none()).await;
        assert!(store.get(&up.id).is_none());
        assert!(store.get(&second.id).is_some());
        assert!(store.get("f1").is_some());
        // An image whose factors cannot fit at all says so.
        let tiny = Arc::new(Store::new(1 << 20, 1 << 30));
        let image = tiny
            .add(svdimg::SAMPLE_PNG, "t".into(), Origin::File, None)
            .unwrap();
        let f = exact(&tiny, &image, StoredColor::Rgb).await;
        assert!(f.error.unwrap().contains("more than the server's --memory"));
    }
}
