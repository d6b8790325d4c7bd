"""Storage below the domain: SQLModel tables, repositories, the unit of work, engines."""
