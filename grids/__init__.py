"""The domain of gridwatch and its store, one package per concept.

``city`` (units, people, rosters, categories, dispatch, the grid locator),
``accounts`` (users, scopes, reporters, API keys), ``cases`` (the case loop),
``analytics`` (hot spots, maps' layers, summaries), ``patrols``, ``community``
(volunteers, service hours and stars, points and the mall, buildings, major-event duty,
ledgers) and ``samples``;
``db`` (engines, column types, migrations) and ``errors`` serve them all.
Dependencies point one way: ``api → grids → geo``.
"""
