"""Cross-cutting rules applied to a whole stack (tags now; policy checks build on this)."""
