"""The clauses, one module per area; importing a module registers its clauses."""
