"""Patrols: points, teams and members, check-ins, attendance, coverage, route plans.

Entry points: ``service`` (points, teams, check-ins, attendance, coverage, gaps) and
``planning`` (hot cells as candidates, must-visit points, coverage gaps for a plan).
"""
