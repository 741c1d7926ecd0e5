"""folium elements for the map pages, and the JavaScript they carry.

One :class:`SharedGeoJson` collection is drawn by several :class:`GeoJsonLayer`
layers that filter and colour it in the browser. Every Python value put into a
script goes through :func:`js_literal`, which no ``</script>`` can break out of.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template


def _script_safe(text: str) -> str:
    """JSON inside a <script>: no '</' may close the element early."""
    return text.replace("</", "<\\/")


class SharedGeoJson(MacroElement):
    """A FeatureCollection that several layers draw: a promise of it, inline or fetched."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.source }};
        {% endmacro %}
        """
    )

    def __init__(self, data: str | None = None, url: str | None = None) -> None:
        super().__init__()
        self._name = "SharedGeoJson"
        if url is not None:
            self.source = (
                f"fetch({json.dumps(url)}, {{credentials: 'same-origin'}}).then(function (r) {{"
                " if (!r.ok) { throw new Error('map data: HTTP ' + r.status); }"
                " return r.json(); })"
            )
        else:
            self.source = f"Promise.resolve({_script_safe(data or '{}')})"


class GeoJsonLayer(Layer):
    """A Leaflet GeoJSON layer on a :class:`SharedGeoJson`, styled by JavaScript options."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {{ this.options_js }});
        {%- if this.tooltip_js %}
        {{ this.get_name() }}.bindTooltip({{ this.tooltip_js }}, {sticky: true});
        {%- endif %}
        {{ this.data.get_name() }}.then(function (d) {
            {{ this.get_name() }}.addData(d);
            window.gridwatchLayersLoaded = (window.gridwatchLayersLoaded || 0) + 1;
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: SharedGeoJson,
        options_js: str,
        *,
        name: str,
        tooltip_js: str | None = None,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoJsonLayer"
        self.data = data
        self.options_js = options_js
        self.tooltip_js = tooltip_js


def localise_links(
    element: Any, js: Sequence[tuple[str, str]], css: Sequence[tuple[str, str]], prefix: str
) -> None:
    """Point an element's script and stylesheet links at gridwatch's own copies."""
    element.default_js = [(name, f"{prefix}/{path}") for name, path in js]
    element.default_css = [(name, f"{prefix}/{path}") for name, path in css]


def js_literal(value: Any) -> str:
    """A Python value as a JavaScript literal that is safe inside <script>."""
    return _script_safe(json.dumps(value, ensure_ascii=False))


_ESCAPE_JS = (
    'function e(s) { return String(s).replace(/[&<>"]/g, function (c) {'
    " return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '\"': '&quot;'}[c]; }); }"
)


def js_tooltip(rows: Sequence[tuple[str, str]]) -> str:
    """A tooltip function over a feature's properties ``p``: rows of (label, JS expression);
    text values go through ``e()``, which escapes HTML."""
    lines = " + '<br>' + ".join(
        f"{js_literal('<b>' + escape(label) + '</b> ')} + {expr}" for label, expr in rows
    )
    return f"function (l) {{ var p = l.feature.properties; {_ESCAPE_JS} return {lines}; }}"
