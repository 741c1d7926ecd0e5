"""The case loop: intake, lifecycle, queues and views, photos, rewards, escalation, webhooks.

Entry points: ``intake.create_case``, ``lifecycle.apply_action`` (its rules of who holds
a case in ``assignment`` and of the duplicate chain in ``duplicates``), ``queries.queue``,
``views.case_view``, ``escalation.escalate_overdue``, ``webhooks.deliver_due``,
``invariants.check_store`` (``gridwatch check``) and the Open311 mapping in ``open311``.
"""
