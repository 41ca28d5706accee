// EdgeWizard's bridge between Netron's View and Qt, injected by gui/graph_view.py after Qt's
// qwebchannel.js. Qt talks to it through window.edgewizard; it reports clicks, context menus and
// each drawn graph to the Qt object "edgewizard" over QWebChannel.
//
// It relies on PRIVATE Netron API (pinned netron 9.3.3; tests/gui/test_graph_view.py fails when the
// installed Netron no longer has these): window.__view__ (the View), View.showNodeProperties(node,
// source) (called with source 'target' when a node is clicked), the View's `target` accessor (the
// drawn view.Graph), Graph.nodes (Map of {label}) with label.value (.name, .outputs) and
// label.element, Graph.edges (Map of {label}) with label.from / label.to / label.element,
// Graph.select(values), Graph.selection, Graph.scrollTo(elements), Graph.zoom, View.zoomIn() /
// zoomOut(), View.options and View.toggle('names' | 'weights'), and the CSS classes 'graph-node',
// 'graph-input', 'node-border', 'node-item-type' and 'graph-item-input' of its SVG.
(function () {
    'use strict';
    if (window.edgewizard) {
        return;
    }
    const CATEGORIES = {
        accelerator: 'On the accelerator',
        cpu: 'Falls back to the CPU',
        unsupported: 'Not supported'
    };
    const state = { inputs: [], outputs: [], removed: [], colours: {}, partition: null, selected: [], heat: null };
    // The heat map's scale: white (nothing lost) -> yellow -> red (the worst layer). Stops as [at, r, g, b].
    const HEAT = [[0, 255, 255, 255], [0.5, 255, 214, 64], [1, 198, 40, 40]];
    const heatColour = (value) => {
        const v = Math.min(1, Math.max(0, Number(value) || 0));
        const i = v <= HEAT[1][0] ? 0 : 1;
        const [a, b] = [HEAT[i], HEAT[i + 1]];
        const t = (v - a[0]) / (b[0] - a[0]);
        const rgb = [1, 2, 3].map((k) => Math.round(a[k] + (b[k] - a[k]) * t));
        // Dark text on the light end, white on the red end (relative luminance, WCAG).
        const lum = rgb.map((c) => { const x = c / 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
        const light = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2] > 0.22;
        return { fill: `rgb(${rgb.join(',')})`, text: light ? '#1f2328' : '#ffffff' };
    };
    let qt = null;
    const outbox = [];
    let byName = new Map(); // node name -> label (view.Node or view.Input)
    let byElement = new Map(); // label.element -> name

    const send = (method, ...args) => {
        if (qt) {
            qt[method](...args);
        } else {
            outbox.push([method, args]);
        }
    };

    const view = () => window.__view__;
    const target = () => (view() ? view().target : null);

    const style = () => {
        const css = `
.ew-in > .node.node-border { stroke: #1d4ed8; stroke-width: 4px; }
.ew-out > .node.node-border { stroke: #15803d; stroke-width: 4px; }
.ew-removed { opacity: 0.22; }
.edge-path.ew-removed { opacity: 0.15; }
.ew-cat-accelerator .node-item-type path, .ew-cat-accelerator .graph-item-input path { fill: #2e7d32; }
.ew-cat-cpu .node-item-type path, .ew-cat-cpu .graph-item-input path { fill: #b45309; }
.ew-cat-unsupported .node-item-type path, .ew-cat-unsupported .graph-item-input path { fill: #b91c1c; }
.ew-partition > .node.node-border { stroke: #b45309; stroke-width: 3px; stroke-dasharray: 6 3; }
.ew-badge rect { stroke: none; }
.ew-badge text { font-family: -apple-system, "Segoe UI", "Ubuntu", "Droid Sans", sans-serif; font-size: 11px; font-weight: bold; fill: #fff; user-select: none; }
.ew-badge-in rect { fill: #1d4ed8; }
.ew-badge-out rect { fill: #15803d; }
.ew-badge-partition rect { fill: #b45309; }
#menu-button { display: none; }
.ew-names .edge-label { display: none; }
#ew-legend { position: fixed; bottom: 22px; right: 22px; z-index: 3; background: rgba(255,255,255,0.94); border: 1px solid #ccc; border-radius: 6px; padding: 6px 10px; font-size: 12px; line-height: 18px; color: #222; display: none; }
#ew-legend .ew-swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
#ew-legend .ew-heat-title { font-weight: bold; }
#ew-legend .ew-heat-bar { height: 10px; width: 190px; margin: 4px 0 1px 0; border: 1px solid #bbb; border-radius: 2px; background: linear-gradient(to right, rgb(255,255,255), rgb(255,214,64), rgb(198,40,40)); }
#ew-legend .ew-heat-ends { display: flex; justify-content: space-between; width: 192px; color: #444; font-size: 11px; }
.ew-heat > .node-item-type > path, .ew-heat > .node-item > path { stroke: #9aa0a6; stroke-width: 1px; }
.ew-heat-none .node-item-type path { fill: #eef0f2; }
.ew-heat-none .node-item-type text { fill: #6b7280; }
`;
        const element = document.createElement('style');
        element.id = 'ew-style';
        element.textContent = css;
        document.head.appendChild(element);
        const legend = document.createElement('div');
        legend.id = 'ew-legend';
        document.body.appendChild(legend);
    };

    // A node's name as the node table has it: its own name; for formats whose ops have none (TFLite),
    // its first output tensor's name, which is what EdgeWizard's TFLite reader calls the op.
    const nameOf = (value) => {
        if (typeof value.name === 'string' && value.name) {
            return value.name;
        }
        const outputs = Array.isArray(value.outputs) ? value.outputs : [];
        const first = outputs.length > 0 && Array.isArray(outputs[0].value) ? outputs[0].value[0] : null;
        // Netron names a TFLite tensor "<name>\n<index>" (unique even where names repeat): the name is ours.
        const tensor = first && typeof first.name === 'string' ? first.name.replace(/\n\d+$/, '') : '';
        return tensor || null;
    };

    const index = (graph) => {
        byName = new Map();
        byElement = new Map();
        if (!graph) {
            return;
        }
        const inputs = [];
        for (const entry of graph.nodes.values()) {
            const label = entry.label;
            const name = label && label.element && label.value ? nameOf(label.value) : null;
            if (!name) {
                continue;
            }
            const classes = label.element.classList;
            if (classes.contains('graph-node')) {
                if (!byName.has(name)) {
                    byName.set(name, label);
                }
            } else if (classes.contains('graph-input')) {
                inputs.push([name, label]);
            }
        }
        // A graph input (a Keras InputLayer, a TF Placeholder) is a node for the person too.
        for (const [name, label] of inputs) {
            if (!byName.has(name)) {
                byName.set(name, label);
            }
        }
        for (const [name, label] of byName) {
            byElement.set(label.element, name);
        }
    };

    const nameAt = (element) => {
        for (let e = element; e && e !== document.body; e = e.parentNode) {
            if (byElement.has(e)) {
                return byElement.get(e);
            }
        }
        return null;
    };

    const clearClass = (name) => {
        for (const e of Array.from(document.getElementsByClassName(name))) {
            e.classList.remove(name);
        }
    };

    const badge = (label, kind, text) => {
        const svg = 'http://www.w3.org/2000/svg';
        const g = document.createElementNS(svg, 'g');
        g.setAttribute('class', `ew-badge ew-badge-${kind}`);
        const rect = document.createElementNS(svg, 'rect');
        const t = document.createElementNS(svg, 'text');
        t.textContent = text;
        g.appendChild(rect);
        g.appendChild(t);
        label.element.appendChild(g);
        const box = t.getBBox();
        const width = box.width + 10;
        const x = (label.width || 0) + 6;
        rect.setAttribute('x', x);
        rect.setAttribute('y', 0);
        rect.setAttribute('rx', 4);
        rect.setAttribute('width', width);
        rect.setAttribute('height', 18);
        t.setAttribute('x', x + 5);
        t.setAttribute('y', 13);
    };

    const apply = () => {
        for (const e of Array.from(document.getElementsByClassName('ew-heat'))) {
            for (const part of Array.from(e.querySelectorAll('.node-item-type path, .node-item-type text'))) {
                part.style.removeProperty('fill');
            }
        }
        for (const name of ['ew-in', 'ew-out', 'ew-removed', 'ew-partition', 'ew-cat-accelerator', 'ew-cat-cpu', 'ew-cat-unsupported', 'ew-heat', 'ew-heat-none']) {
            clearClass(name);
        }
        for (const e of Array.from(document.getElementsByClassName('ew-badge'))) {
            e.remove();
        }
        const graph = target();
        if (!graph) {
            return;
        }
        const removed = new Set(state.removed.filter((name) => byName.has(name)));
        for (const name of removed) {
            byName.get(name).element.classList.add('ew-removed');
        }
        const removedLabels = new Set(Array.from(removed).map((name) => byName.get(name)));
        const feeds = new Map(); // a graph output (not a node of ours) -> are its producers all removed?
        for (const entry of graph.edges.values()) {
            const edge = entry.label;
            if (!edge || !edge.element) {
                continue;
            }
            const gone = removedLabels.has(edge.from) || removedLabels.has(edge.to);
            if (gone) {
                edge.element.classList.add('ew-removed');
            }
            if (edge.to && edge.to.element && !byElement.has(edge.to.element)) {
                feeds.set(edge.to, (feeds.has(edge.to) ? feeds.get(edge.to) : true) && removedLabels.has(edge.from));
            }
        }
        for (const [label, gone] of feeds) {
            if (gone) {
                label.element.classList.add('ew-removed');
            }
        }
        // The heat map and the device colours are two views of the nodes: the heat map, when shown, hides
        // the device colours and the partition mark (they come back when it is cleared).
        const heat = state.heat && state.heat.values ? state.heat : null;
        if (heat) {
            for (const [name, label] of byName) {
                if (!label.element.classList.contains('graph-node')) {
                    continue;
                }
                if (Object.prototype.hasOwnProperty.call(heat.values, name)) {
                    const colour = heatColour(heat.values[name]);
                    label.element.classList.add('ew-heat');
                    for (const path of Array.from(label.element.querySelectorAll('.node-item-type path'))) {
                        path.style.setProperty('fill', colour.fill);
                    }
                    for (const text of Array.from(label.element.querySelectorAll('.node-item-type text'))) {
                        text.style.setProperty('fill', colour.text);
                    }
                } else {
                    label.element.classList.add('ew-heat-none');
                }
            }
        }
        for (const [name, category] of Object.entries(heat ? {} : state.colours)) {
            if (byName.has(name) && CATEGORIES[category]) {
                byName.get(name).element.classList.add(`ew-cat-${category}`);
            }
        }
        for (const name of state.inputs) {
            if (byName.has(name)) {
                byName.get(name).element.classList.add('ew-in');
                badge(byName.get(name), 'in', 'cut input');
            }
        }
        for (const name of state.outputs) {
            if (byName.has(name)) {
                byName.get(name).element.classList.add('ew-out');
                badge(byName.get(name), 'out', 'cut output');
            }
        }
        if (!heat && state.partition && byName.has(state.partition)) {
            const label = byName.get(state.partition);
            label.element.classList.add('ew-partition');
            badge(label, 'partition', 'accelerator stops here');
        }
        const legend = document.getElementById('ew-legend');
        const counts = {};
        for (const category of Object.values(state.colours)) {
            counts[category] = (counts[category] || 0) + 1;
        }
        const colours = { accelerator: '#2e7d32', cpu: '#b45309', unsupported: '#b91c1c' };
        legend.innerHTML = '';
        if (heat) {
            const line = (className, text) => {
                const div = document.createElement('div');
                div.className = className;
                if (text) {
                    div.textContent = text;
                }
                legend.appendChild(div);
                return div;
            };
            line('ew-heat-title', heat.title || 'Heat map');
            line('ew-heat-bar', '');
            const ends = line('ew-heat-ends', '');
            for (const text of String(heat.scale || '').split('|')) {
                const span = document.createElement('span');
                span.textContent = text;
                ends.appendChild(span);
            }
            const unmeasured = document.getElementsByClassName('ew-heat-none').length;
            if (unmeasured) {
                const row = line('', '');
                const swatch = document.createElement('span');
                swatch.className = 'ew-swatch';
                swatch.style.background = '#eef0f2';
                swatch.style.border = '1px solid #bbb';
                row.appendChild(swatch);
                row.appendChild(document.createTextNode(`Not measured (${unmeasured})`));
            }
        }
        for (const [category, text] of Object.entries(heat ? {} : CATEGORIES)) {
            if (counts[category]) {
                const row = document.createElement('div');
                const swatch = document.createElement('span');
                swatch.className = 'ew-swatch';
                swatch.style.background = colours[category];
                row.appendChild(swatch);
                row.appendChild(document.createTextNode(`${text} (${counts[category]})`));
                legend.appendChild(row);
            }
        }
        legend.style.display = legend.children.length > 0 ? 'block' : 'none';
    };

    const select = (names, scroll) => {
        const graph = target();
        const labels = names.filter((name) => byName.has(name)).map((name) => byName.get(name));
        if (!graph) {
            return 0;
        }
        const elements = graph.select(labels.length > 0 ? labels.map((label) => label.value) : null) || [];
        if (scroll && elements.length > 0) {
            graph.scrollTo(elements, 'smooth');
        }
        return labels.length;
    };

    const drawn = (graph) => {
        const started = performance.now();
        // With node names shown, Netron labels edges with tensor names: noise next to the names. (The
        // class goes on <html>: the View resets <body>'s.)
        document.documentElement.classList.toggle('ew-names', Boolean(view().options.names));
        index(graph);
        apply();
        if (state.selected.length > 0) {
            select(state.selected, false);
        }
        send('drawnGraph', JSON.stringify({ names: Array.from(byName.keys()), ms: Math.round(performance.now() - started) }));
    };

    const attach = () => {
        const v = view();
        if (!v) {
            send('reportFailure', 'Netron did not start in the graph view.');
            return;
        }
        // Each graph Netron draws goes through the View's `target` setter: index it and re-apply marks.
        const proto = Object.getPrototypeOf(v);
        const accessor = Object.getOwnPropertyDescriptor(proto, 'target');
        Object.defineProperty(v, 'target', {
            configurable: true,
            get() {
                return accessor.get.call(this);
            },
            set(value) {
                accessor.set.call(this, value);
                if (value) {
                    drawn(value);
                }
            }
        });
        // A click on a node: Netron selects it and opens its properties; we tell Qt instead.
        const showNodeProperties = v.showNodeProperties;
        v.showNodeProperties = function (node, source) {
            const name = source === 'target' && node ? nameOf(node) : null;
            if (name) {
                state.selected = [name];
                send('nodeClicked', name);
                return undefined;
            }
            return showNodeProperties.call(this, node, source);
        };
        window.edgewizard.properties = (name) => {
            const label = byName.get(name);
            if (label && label.element.classList.contains('graph-node')) {
                showNodeProperties.call(v, label.value, 'sidebar');
                return true;
            }
            return false;
        };
        const container = document.getElementById('target');
        // A graph input's own click opens graph properties; treat it like a node click instead.
        container.addEventListener('click', (e) => {
            const name = nameAt(e.target);
            if (name && byName.get(name).element.classList.contains('graph-input')) {
                e.stopPropagation();
                state.selected = [name];
                select([name], false);
                send('nodeClicked', name);
            }
        }, true);
        container.addEventListener('contextmenu', (e) => {
            e.preventDefault();
            const name = nameAt(e.target);
            if (name) {
                state.selected = [name];
                select([name], false);
            }
            send('contextMenu', name || '', Math.round(e.clientX), Math.round(e.clientY));
        });
        window.addEventListener('edgewizard-error', (e) => send('reportFailure', String(e.detail)));
        const host = window.__edgewizard_host__;
        if (host && host.started) {
            send('pageReady');
        } else {
            window.addEventListener('edgewizard-host-ready', () => send('pageReady'), { once: true });
        }
    };

    window.edgewizard = {
        // Show the model Qt serves at `url`; reports 'opened' with '' or the error.
        open(url, name) {
            const started = performance.now();
            window.__edgewizard_host__.open(url, name).then((error) => {
                send('modelOpened', error, Math.round(performance.now() - started));
            });
        },
        select(names, scroll) {
            state.selected = names.slice();
            return select(names, scroll !== false);
        },
        // Everything Qt keeps for the page at once: {inputs, outputs, removed, colours, partition}.
        update(marks) {
            Object.assign(state, marks);
            apply();
        },
        highlight(inputs, outputs, removed) {
            Object.assign(state, { inputs, outputs, removed });
            apply();
        },
        colour(map) {
            state.colours = map || {};
            apply();
        },
        partition(name) {
            state.partition = name || null;
            apply();
        },
        // {values: {node: 0..1}, title, scale: 'low end|high end'}, or null to show device colours again.
        heat(map) {
            state.heat = map || null;
            apply();
        },
        find(name) {
            const graph = target();
            if (!graph || !byName.has(name)) {
                return false;
            }
            if (graph.zoom < 0.6) {
                graph.zoom = 1;
            }
            state.selected = [name];
            const elements = graph.select([byName.get(name).value]) || [];
            graph.scrollTo(elements, 'instant');
            return true;
        },
        fit() {
            const graph = target();
            if (graph) {
                graph.zoom = 0; // Netron clamps to the smallest zoom that still fits the graph's height
                const container = document.getElementById('target');
                container.scrollLeft = (container.scrollWidth - container.clientWidth) / 2;
                container.scrollTop = 0;
            }
        },
        zoomIn() {
            if (target()) {
                view().zoomIn();
            }
        },
        zoomOut() {
            if (target()) {
                view().zoomOut();
            }
        },
        // Netron's own view options: 'names' (node names instead of op types), 'weights'.
        option(name, on) {
            if (view() && view().options[name] !== Boolean(on)) {
                view().toggle(name);
            }
        },
        // Answers 'framePainted' with `token` once the page has drawn a frame after this call.
        ping(token) {
            requestAnimationFrame(() => requestAnimationFrame(() => send('framePainted', token)));
        },
        names() {
            return Array.from(byName.keys());
        },
        // Where node `name` is drawn once scrolled into view: its centre in the page's pixels as JSON, or ''
        // (tests click there; a TFLite op has no name of its own, so its element has no id to find it by).
        centre(name) {
            if (!byName.has(name)) {
                return '';
            }
            const element = byName.get(name).element;
            element.scrollIntoView({ block: 'center', inline: 'center' });
            const r = (element.querySelector('.node-item') || element).getBoundingClientRect();
            return JSON.stringify([r.x + r.width / 2, r.y + r.height / 2]);
        },
        // What the page shows, for tests and the benchmark.
        probe() {
            const graph = target();
            const count = (name) => document.getElementsByClassName(name).length;
            const marked = (name) => Array.from(byName).filter(([, label]) => label.element.classList.contains(name)).map(([n]) => n);
            const byLabel = new Map(Array.from(byName).map(([n, label]) => [label, n]));
            const selected = graph ? Array.from(graph.selection).map((e) => byLabel.get(e) || byElement.get(e) || (e.value && nameOf(e.value))).filter(Boolean) : [];
            return JSON.stringify({
                drawn: Boolean(graph),
                nodes: byName.size,
                selected,
                inputs: marked('ew-in'), outputs: marked('ew-out'), removed: marked('ew-removed'),
                accelerator: marked('ew-cat-accelerator'), cpu: marked('ew-cat-cpu'), unsupported: marked('ew-cat-unsupported'),
                heat: marked('ew-heat'), unmeasured: marked('ew-heat-none'),
                heatFills: Object.fromEntries(marked('ew-heat').map((n) => { const p = byName.get(n).element.querySelector('.node-item-type path'); return [n, p ? p.style.fill : '']; })),
                heatLegend: state.heat && state.heat.values && document.getElementById('ew-legend').style.display !== 'none' ? document.getElementById('ew-legend').innerText : '',
                partition: marked('ew-partition'), badges: count('ew-badge'), faded: document.querySelectorAll('.ew-removed').length,
                legend: document.getElementById('ew-legend').style.display === 'none' ? '' : document.getElementById('ew-legend').innerText,
                zoom: graph ? graph.zoom : null,
                page: document.body.className
            });
        }
    };

    const start = () => {
        style();
        attach();
        if (typeof QWebChannel === 'undefined' || !window.qt || !window.qt.webChannelTransport) {
            return; // opened outside Qt: nothing to report to
        }
        new QWebChannel(window.qt.webChannelTransport, (channel) => {
            qt = channel.objects.edgewizard;
            for (const [method, args] of outbox.splice(0)) {
                qt[method](...args);
            }
        });
    };
    start();
})();
