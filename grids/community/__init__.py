"""The community's own forces beside the grid officers.

- ``volunteers``: the registry (义警, 平安志愿者, 劝导队员, 楼栋长, 信息员), CSV import,
  who sees a real name (``identity_visible``);
- ``hours`` and ``ratings``: service hours from patrol check-ins, event duty and recorded
  activities; evaluations and the monthly star rating with its reasons;
- ``points`` and ``mall``: the one points ledger (verified reports, hours, duty),
  statements and leaderboards; the points mall and its redemptions;
- ``buildings``: rental buildings and their heads, inspections, cases linked to them;
- ``operations``: major-event security duty, the staffing board, the closing report;
- ``ledgers``: the attendance and service-hours ledgers (CSV and XLSX);
- ``config``: kinds, star thresholds and points rates (``community.toml``).
"""
