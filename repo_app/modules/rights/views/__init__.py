"""The rights screens: blueprints and their forms.

Only the app wiring (``mura.app.web``) imports them (import-linter checks it).
"""
