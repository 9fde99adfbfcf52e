// Where the explorer runs: a page of `svdimg serve` (the document, HTTP, links in the URL,
// uploads) or a notebook widget (a shadow root inside a cell's output, the kernel's
// messages). The entry module (page.js or widget.js) fills this in before `start`.
export const host = {
  /** Where the explorer's elements are: the document, or the widget's shadow root. */
  root: document,
  /** What listens for the explorer's keys (F, +, −, 0, 1). */
  keys: document,
  /** The transport: every question the explorer asks, by name (see api.js). */
  api: null,
  /** The full page: the image list, uploads, the lesson, file sizes, downloads, links. */
  page: true,
  /** The first setting, where the host has one (the widget's traits), else null. */
  initialSetting: () => null,
  /** Told of every new setting: `{ mode, k, ranks }`. */
  settingChanged: () => {},
};
