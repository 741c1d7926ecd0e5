"""Patrol route plans: a prize-collecting team orienteering problem, solved with OR-Tools.

Entry points: ``plan.plan_routes`` and ``plan.greedy_plan``; ``formats`` writes JSON,
GeoJSON and GPX (JSON and GPX also in GCJ-02 or BD-09); ``maps`` draws a plan and the
coverage gaps.
"""
