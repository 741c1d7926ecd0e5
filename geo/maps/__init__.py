"""Folium maps that load nothing from outside the service: hot spots, emerging, patrols.

Entry points: ``pages.hotspot_map``, ``pages.emerging_map``, ``pages.counts_map`` and
``pages.render_html``;
``style`` (colours, texts, vendored assets), ``geojson``, ``layers`` and ``page`` build them.
"""
