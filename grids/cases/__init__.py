"""The case loop: intake, lifecycle, queues and views, photos, rewards, escalation, webhooks.

Entry points: ``intake.create_case``, ``lifecycle.apply_action`` (its rules of who holds
a case in ``assignment`` and of the duplicate chain in ``duplicates``), ``queries.queue``,
``views.case_view``, ``escalation.escalate_overdue``, ``webhooks.deliver_due``,
``invariants.check_store`` (``gridwatch check``), the Open311 mapping in ``open311``, and
``history.write_history``: many reports at their own times in bulk, through the rules of
intake in ``rules`` and the loop's step changes (played by ``timeline``).
"""
