"""The case loop: intake, lifecycle, queues and views, photos, rewards, escalation, webhooks.

Entry points: ``intake.create_case``, ``lifecycle.apply_action``, ``queries.queue``,
``views.case_view``, ``escalation.escalate_overdue``, ``webhooks.deliver_due`` and the
Open311 mapping in ``open311``.
"""
