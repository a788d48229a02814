"""gym-foo, the classic custom environment example, declared through gymplug (no register() call)."""
