"""Who calls the service: users and their bearer tokens, scopes, reporters, API keys.

Entry points: ``users.create_user``, ``users.user_for_token``, ``scope.scope_of``,
``reporters.reporter_for`` and ``users.check_api_key``.
"""
