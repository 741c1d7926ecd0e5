"""The case loop: intake, lifecycle, queues and views, photos, rewards, escalation.

Entry points: ``intake.create_case`` (by the rules in ``rules``), ``lifecycle.apply_action``
(its rules of who holds a case in ``assignment`` and of the duplicate chain in
``duplicates``), ``queries.queue``, ``views.case_view``, ``escalation.escalate_overdue``,
``conversation.post_message`` and ``invariants.check_store`` (``gridwatch check``).
Open311, webhooks and public listings are in :mod:`grids.exchange`; the bulk history in
:mod:`grids.history`.
"""
