"""Many reports at their own times, in bulk, through the rules of live intake.

Entry point: ``writer.write_history`` (cases, audit rows, rewards and their points in
bulk: COPY on PostgreSQL, executemany on SQLite), with each case's lifecycle played by
``timeline.Timeline`` using the loop's own step changes (:mod:`grids.cases.rules`,
:mod:`grids.cases.lifecycle`).
"""
