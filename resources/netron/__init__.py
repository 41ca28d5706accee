"""The graph view's scripts for Netron's page: host.js (an offline host in place of Netron's browser
host) and bridge.js (injected; talks to Qt over QWebChannel). Data for gui/graph_view.py, not code."""
