"""assignments: on PostgreSQL, their references are kept by statement-level triggers, not per-row keys

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 11:30:00

A foreign key checks each inserted row on its own: writing 100,000 assignments spent about 1 s on each of
the four (plan, account, territory, rep). The triggers below check a whole statement at once (one join of
its rows against each referenced table, docs/domain.md "Boundaries and assignment by rules"), lock what
they reference as a key would (FOR KEY SHARE, so a concurrent delete waits or the insert fails), and do on
the other side what the keys did: a deleted plan or account takes its assignments with it, a deleted
territory leaves them without one, and a rep with assignments cannot be deleted. A changed reference
(an UPDATE of one of the four columns) is checked row by row, as rare as it is. SQLite keeps its keys.
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# (column, referenced table, on delete), as the keys had them
REFERENCES = (
    ("plan_id", "plans", "CASCADE"),
    ("account_id", "accounts", "CASCADE"),
    ("territory_id", "territories", "SET NULL"),
    ("rep_id", "reps", "RESTRICT"),
)


def _name(column: str, table: str) -> str:
    return f"fk_assignments_{column}_{table}"


def _violation(column: str, table: str, value: str) -> str:
    """Raise what PostgreSQL's own key raises, so a client's error is the same as before."""
    name = _name(column, table)
    return (
        "RAISE foreign_key_violation USING "
        f'MESSAGE = \'insert or update on table "assignments" violates foreign key constraint "{name}"\', '
        f"DETAIL = format('Key ({column})=(%s) is not present in table \"{table}\".', {value}), "
        f"CONSTRAINT = '{name}', TABLE = 'assignments', COLUMN = '{column}';"
    )


def _statement_check() -> str:
    """The inserted rows' references: every distinct value must be a row of its table, locked as a key
    locks it; a count short of the distinct values finds the first missing one for the error."""
    parts = []
    for column, table, _ in REFERENCES:
        parts.append(f"""
  SELECT count(DISTINCT n.{column}) INTO wanted FROM new_rows n;
  SELECT count(*) INTO found FROM (
    SELECT t.id FROM {table} t WHERE t.id IN (SELECT n.{column} FROM new_rows n) FOR KEY SHARE OF t
  ) locked;
  IF found < wanted THEN
    SELECT n.{column} INTO missing FROM new_rows n
      WHERE n.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = n.{column}) LIMIT 1;
    {_violation(column, table, "missing")}
  END IF;""")
    return (
        "CREATE FUNCTION assignments_references_hold() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE wanted bigint; found bigint; missing uuid;\nBEGIN"
        + "".join(parts)
        + "\n  RETURN NULL;\nEND $$"
    )


def _row_check() -> str:
    parts = []
    for column, table, _ in REFERENCES:
        parts.append(f"""
  IF NEW.{column} IS NOT NULL AND NEW.{column} IS DISTINCT FROM OLD.{column} THEN
    PERFORM 1 FROM {table} t WHERE t.id = NEW.{column} FOR KEY SHARE;
    IF NOT FOUND THEN {_violation(column, table, f"NEW.{column}")} END IF;
  END IF;""")
    return (
        "CREATE FUNCTION assignments_changed_references_hold() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN"
        + "".join(parts)
        + "\n  RETURN NULL;\nEND $$"
    )


def _on_delete(column: str, table: str, action: str) -> str:
    if action == "CASCADE":
        body = f"DELETE FROM assignments a USING old_rows o WHERE a.{column} = o.id;"
    elif action == "SET NULL":
        # an assignment of a plan being deleted in the same statement goes with the plan: not updated first
        body = (
            f"UPDATE assignments a SET {column} = NULL FROM old_rows o WHERE a.{column} = o.id "
            "AND EXISTS (SELECT 1 FROM plans p WHERE p.id = a.plan_id);"
        )
    else:
        name = _name(column, table)
        body = f"""SELECT a.{column} INTO kept FROM assignments a JOIN old_rows o ON a.{column} = o.id LIMIT 1;
  IF FOUND THEN
    RAISE foreign_key_violation USING
      MESSAGE = 'update or delete on table "{table}" violates foreign key constraint "{name}" on table "assignments"',
      DETAIL = format('Key (id)=(%s) is still referenced from table "assignments".', kept),
      CONSTRAINT = '{name}', TABLE = '{table}';
  END IF;"""
    return (
        f"CREATE FUNCTION assignments_on_{table}_delete() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE kept uuid;\nBEGIN\n  {body}\n  RETURN NULL;\nEND $$"
    )


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for column, table, _ in REFERENCES:
        op.drop_constraint(_name(column, table), "assignments", type_="foreignkey")
    op.execute(_statement_check())
    op.execute(
        "CREATE TRIGGER assignments_references_on_insert AFTER INSERT ON assignments "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assignments_references_hold()"
    )
    op.execute(_row_check())
    changed = " OR ".join(
        f"(NEW.{c} IS NOT NULL AND NEW.{c} IS DISTINCT FROM OLD.{c})" for c, _, _ in REFERENCES
    )
    op.execute(
        "CREATE TRIGGER assignments_references_on_update AFTER UPDATE ON assignments FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION assignments_changed_references_hold()"
    )
    for column, table, action in REFERENCES:
        op.execute(_on_delete(column, table, action))
        op.execute(
            f"CREATE TRIGGER assignments_on_{table}_delete AFTER DELETE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assignments_on_{table}_delete()"
        )
    # ids never change; a key would have refused a new one where assignments refer to the row
    op.execute(
        "CREATE FUNCTION assignments_refuse_a_new_id() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  RAISE foreign_key_violation USING MESSAGE = format('the id of a row of %s never changes', TG_TABLE_NAME),"
        " TABLE = TG_TABLE_NAME, COLUMN = 'id';\nEND $$"
    )
    for _, table, _ in REFERENCES:
        op.execute(
            f"CREATE TRIGGER {table}_id_is_kept BEFORE UPDATE OF id ON {table} FOR EACH ROW "
            "WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION assignments_refuse_a_new_id()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for _, table, _ in REFERENCES:
        op.execute(f"DROP TRIGGER {table}_id_is_kept ON {table}")
        op.execute(f"DROP TRIGGER assignments_on_{table}_delete ON {table}")
        op.execute(f"DROP FUNCTION assignments_on_{table}_delete()")
    op.execute("DROP FUNCTION assignments_refuse_a_new_id()")
    op.execute("DROP TRIGGER assignments_references_on_update ON assignments")
    op.execute("DROP FUNCTION assignments_changed_references_hold()")
    op.execute("DROP TRIGGER assignments_references_on_insert ON assignments")
    op.execute("DROP FUNCTION assignments_references_hold()")
    for column, table, action in REFERENCES:
        op.create_foreign_key(_name(column, table), "assignments", table, [column], ["id"], ondelete=action)
