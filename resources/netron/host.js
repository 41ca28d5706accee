// EdgeWizard's host for Netron's View, loaded in place of Netron's index.js + browser.js.
//
// It offers the View the same small interface Netron's browser host does, minus everything that
// would reach the network: no consent screen, no analytics, no update check, no links followed, no
// file dialog. Models come from Qt through the edgewizard: URL scheme: Qt calls
// window.__edgewizard_host__.open(url, name). Netron's own modules are imported unchanged.

import * as base from './base.js';
import * as view from './view.js';

class Host {

    constructor() {
        this._window = window;
        this._document = window.document;
        // The View's settings, kept for this page only. Node names shown, not op types: the person
        // picks nodes by name, as the node table lists them. Weights not listed inside the nodes:
        // they make drawing 3-10x slower (MobileNetV2: ~1 s instead of ~3 s); Qt can turn them on.
        this._options = new Map([['options', { names: true, weights: false }]]);
        this._assets = new Map();
        const meta = this._document.querySelector('meta[name="version"]');
        this._environment = {
            name: 'Netron',
            type: 'EdgeWizard', // not 'Browser': the View would prefetch modules we rarely need
            version: meta ? meta.getAttribute('content') : null,
            packaged: false, // Netron reports errors to its analytics when packaged
            platform: /(Mac|iPhone|iPod|iPad)/i.test(this._window.navigator.platform) ? 'darwin' : undefined,
            agent: '',
            repository: '',
            menu: false, // its menu offers "Open...", "Report Issue" and links we do not follow
            serial: false // keep the layout Web Worker: big graphs are laid out off the page's thread
        };
    }

    get window() {
        return this._window;
    }

    get document() {
        return this._document;
    }

    get version() {
        return this._environment.version;
    }

    get type() {
        return this._environment.type;
    }

    async view(view) {
        this._view = view;
    }

    async start() {
        this._document.body.classList.remove('spinner');
        this._view.show('welcome');
        this._started = true;
        this._window.dispatchEvent(new this._window.CustomEvent('edgewizard-host-ready'));
    }

    get started() {
        return this._started === true;
    }

    environment(name) {
        return this._environment[name];
    }

    async require(id) {
        return import(`${id}.js`);
    }

    worker(id) {
        return new this._window.Worker(`${id}.js`, { type: 'module' });
    }

    async save(name, extension, defaultPath) {
        return `${defaultPath}.${extension}`;
    }

    async export(/* file, blob */) {
        // Exporting images is left to Netron itself (the app), not the embedded view.
    }

    async execute(/* name, value */) {
        // "open", "report-issue", "about": nothing of the kind inside the wizard.
    }

    async fetch(file, encoding, base) {
        const url = base ? `${base}/${file}` : this._url(file);
        return this._request(url, encoding);
    }

    async asset(file) {
        if (!this._assets.has(file)) {
            const request = this._request(this._url(file), 'utf-8');
            request.catch(() => this._assets.delete(file));
            this._assets.set(file, request);
        }
        return this._assets.get(file);
    }

    openURL(/* url */) {
        // Documentation links point at the internet: the embedded view follows none.
    }

    exception(error /* , fatal */) {
        this._window.dispatchEvent(new this._window.CustomEvent('edgewizard-error', { detail: error && error.message ? error.message : String(error) }));
    }

    event(/* name, params */) {
        // Netron sends usage events to its analytics service here; EdgeWizard sends nothing.
    }

    get(name) {
        return this._options.get(name);
    }

    set(name, value) {
        this._options.set(name, value);
    }

    delete(name) {
        this._options.delete(name);
    }

    update() {
    }

    async message(message, alert, action) {
        const document = this._document;
        const text = document.getElementById('message-text');
        const button = document.getElementById('message-button');
        if (!message && !alert && !action) { // the View hides its notice
            document.body.classList.remove('notification');
            return 0;
        }
        return new Promise((resolve) => {
            const type = document.body.getAttribute('class');
            text.innerText = message || '';
            if (action) {
                button.style.removeProperty('display');
                button.innerText = action;
                button.onclick = () => {
                    button.onclick = null;
                    document.body.setAttribute('class', type);
                    resolve(0);
                };
            } else {
                button.style.display = 'none';
                button.onclick = null;
            }
            if (alert) {
                document.body.setAttribute('class', 'alert');
            } else {
                document.body.classList.add('notification');
                document.body.classList.remove('default');
            }
        });
    }

    // Qt's entry point: show the model at `url` (served by the edgewizard: scheme). `name` is the
    // file's real name (the URL is percent-encoded). Resolves to '' once drawn, or an error message.
    async open(url, name) {
        this._view.show('welcome spinner');
        let stream = null;
        try {
            stream = await this._request(url, null);
        } catch (error) {
            this._view.show('welcome');
            return `Could not read the model file: ${error.message}`;
        }
        const context = new Context(this, url, name, stream);
        try {
            const model = await this._view.open(context);
            if (!model) {
                this._view.show('welcome');
                return 'Netron cannot show this model.';
            }
            this._view.show(null);
            this._document.title = name;
            return '';
        } catch (error) {
            this._view.show('welcome');
            return error && error.message ? error.message : String(error);
        }
    }

    _url(file) {
        const location = this._window.location;
        const path = location.pathname.split('/').slice(0, -1).join('/');
        return `${location.protocol}//${location.host}${path}/${file.replace(/^\.?\//, '')}`;
    }

    _request(url, encoding) {
        return new Promise((resolve, reject) => {
            const request = new this._window.XMLHttpRequest();
            if (!encoding) {
                request.responseType = 'arraybuffer';
            }
            request.onload = () => {
                if (request.status === 200 || (request.status === 0 && request.response)) {
                    resolve(encoding ? request.responseText : new base.BinaryStream(new Uint8Array(request.response)));
                } else {
                    reject(new Error(`'${url}' could not be read (status ${request.status}).`));
                }
            };
            request.onerror = () => reject(new Error(`'${url}' could not be read.`));
            request.open('GET', url, true);
            request.send();
        });
    }
}

// What the View's model readers see of the file: its name, its bytes, and files beside it.
class Context {

    constructor(host, url, name, stream) {
        this._host = host;
        this._stream = stream;
        const parts = url.split('?')[0].split('/');
        parts.pop();
        this._base = parts.join('/');
        this._identifier = name;
    }

    get identifier() {
        return this._identifier;
    }

    get name() {
        return this._identifier;
    }

    get stream() {
        return this._stream;
    }

    async asset(file) {
        return this._host.asset(file);
    }

    async fetch(file, encoding, base) {
        const folder = base === undefined ? this._base : base;
        const path = file.split('/').map((part) => encodeURIComponent(part)).join('/');
        return this._host.fetch(path, encoding, folder);
    }

    async require(id) {
        return this._host.require(id);
    }

    error(error, fatal) {
        this._host.exception(error, fatal);
    }
}

const host = new Host();
window.__edgewizard_host__ = host;
window.__view__ = new view.View(host);
window.__view__.start();
