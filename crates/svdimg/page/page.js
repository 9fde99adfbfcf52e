// The explorer as the page of `svdimg serve`: the document, over HTTP.
import { api } from './api.js';
import { start } from './app.js';
import { host } from './host.js';

host.api = api;
start();
