"""Full-text search DDL: SQLite FTS5 or a PostgreSQL tsvector index over `search_entries`.

Triggers on the searchable tables keep `search_entries` current, whoever writes the rows (the
engine's batched writes, the email channel, the customer service). Migration 0012 runs these
statements as they are: change them only together with a new migration.
"""

# ruff: noqa: S608, E501 - fixed DDL built from constants (no input), kept one statement a line
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

# Accents are dropped so that "Díaz" is found by "diaz" (SQLite's tokenizer does it itself).
ACCENTED = "áàâäãåéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ"
PLAIN = "aaaaaaeeeeiiiiooooouuuuncAAAAAAEEEEIIIIOOOOOUUUUNC"

# Objects made here, not by tables.py: autogenerate and the schema check leave them alone.
INTERNAL_PREFIXES = ("search_fts", "ix_search_entries_tsv")

_SQLITE_HEADS = {
    "interactions": (
        "'interaction'",
        "'i:' || new.id",
        (
            "coalesce(new.customer_name, '') || ' ' || coalesce(new.customer_email, '') || ' ' || "
            "coalesce(new.subject, '')"
        ),
        "customer_name, customer_email, subject",
    ),
    "cases": (
        "'case'",
        "'c:' || new.id",
        (
            "'CS-' || coalesce(new.number, '') || ' ' || coalesce(new.customer_name, '') || ' ' || "
            "coalesce(new.customer_email, '') || ' ' || coalesce(new.subject, '') || ' ' || "
            "coalesce(new.description, '')"
        ),
        "number, customer_name, customer_email, subject, description",
    ),
    "customers": (
        "'customer'",
        "'u:' || new.id",
        (
            "coalesce(new.name, '') || ' ' || coalesce(new.emails, '') || ' ' || "
            "coalesce(new.phone, '')"
        ),
        "name, emails, phone",
    ),
}


def _sqlite_statements() -> list[str]:
    out = [
        (
            "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_entries', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        ),
        (
            "CREATE TRIGGER search_fts_ai AFTER INSERT ON search_entries BEGIN "
            "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END"
        ),
        (
            "CREATE TRIGGER search_fts_ad AFTER DELETE ON search_entries BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); END"
        ),
        (
            "CREATE TRIGGER search_fts_au AFTER UPDATE ON search_entries BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); "
            "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END"
        ),
    ]
    for table, (kind, source, body, columns) in _SQLITE_HEADS.items():
        out += [
            (
                f"CREATE TRIGGER search_fts_{table}_ai AFTER INSERT ON {table} BEGIN "
                f"INSERT INTO search_entries(kind, ref_id, source, body) "
                f"VALUES ({kind}, new.id, {source}, {body}); END"
            ),
            (
                f"CREATE TRIGGER search_fts_{table}_au AFTER UPDATE OF {columns} ON {table} BEGIN "
                f"DELETE FROM search_entries WHERE source = {source}; "
                f"INSERT INTO search_entries(kind, ref_id, source, body) "
                f"VALUES ({kind}, new.id, {source}, {body}); END"
            ),
            (
                f"CREATE TRIGGER search_fts_{table}_ad AFTER DELETE ON {table} BEGIN "
                f"DELETE FROM search_entries WHERE source = {source.replace('new.', 'old.')}; END"
            ),
        ]
    email = (
        "INSERT INTO search_entries(kind, ref_id, source, body) "
        "SELECT CASE WHEN new.interaction_id IS NOT NULL THEN 'interaction' ELSE 'case' END, "
        "coalesce(new.interaction_id, new.case_id), 'e:' || new.id, "
        "coalesce(new.subject, '') || ' ' || coalesce(new.text_body, '') "
        "WHERE coalesce(new.interaction_id, new.case_id) IS NOT NULL;"
    )
    out += [
        (
            "CREATE TRIGGER search_fts_chat_messages_ai AFTER INSERT ON chat_messages BEGIN "
            "INSERT INTO search_entries(kind, ref_id, source, body) "
            "VALUES ('interaction', new.interaction_id, 'm:' || new.id, new.body); END"
        ),
        f"CREATE TRIGGER search_fts_email_messages_ai AFTER INSERT ON email_messages BEGIN {email} END",
        (
            "CREATE TRIGGER search_fts_email_messages_au AFTER UPDATE OF interaction_id, case_id "
            "ON email_messages BEGIN DELETE FROM search_entries WHERE source = 'e:' || new.id; "
            f"{email} END"
        ),
    ]
    return out


_PG_HEADS = {
    "interactions": ("interaction", "i:", "NEW.customer_name, NEW.customer_email, NEW.subject"),
    "cases": (
        "case",
        "c:",
        (
            "'CS-' || NEW.number, NEW.customer_name, NEW.customer_email, NEW.subject, "
            "NEW.description"
        ),
    ),
    "customers": ("customer", "u:", "NEW.name, NEW.emails::text, NEW.phone"),
}
_PG_COLUMNS = {
    "interactions": "customer_name, customer_email, subject",
    "cases": "number, customer_name, customer_email, subject, description",
    "customers": "name, emails, phone",
}


def _pg_statements() -> list[str]:
    out = [
        # Punctuation splits words, so an address or CS-1042 is found by any of its parts.
        (
            "CREATE FUNCTION search_fts_text(value text) RETURNS text LANGUAGE sql IMMUTABLE AS "
            "$$ SELECT regexp_replace(translate(coalesce(value, ''), "
            f"'{ACCENTED}', '{PLAIN}'), '[^[:alnum:]]+', ' ', 'g') $$"
        ),
        (
            "CREATE INDEX ix_search_entries_tsv ON search_entries "
            "USING gin (to_tsvector('simple'::regconfig, body))"
        ),
    ]
    for table, (kind, prefix, parts) in _PG_HEADS.items():
        out += [
            (
                f"CREATE FUNCTION search_fts_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"DELETE FROM search_entries WHERE source = '{prefix}' || OLD.id; "
                "IF TG_OP <> 'DELETE' THEN "
                "INSERT INTO search_entries(kind, ref_id, source, body) "
                f"VALUES ('{kind}', NEW.id, '{prefix}' || NEW.id, "
                f"search_fts_text(concat_ws(' ', {parts}))); END IF; RETURN NULL; END $$"
            ),
            (
                f"CREATE TRIGGER search_fts_{table}_ai AFTER INSERT ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION search_fts_{table}()"
            ),
            (
                f"CREATE TRIGGER search_fts_{table}_au AFTER UPDATE OF {_PG_COLUMNS[table]} "
                f"OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION search_fts_{table}()"
            ),
        ]
    out += [
        (
            "CREATE FUNCTION search_fts_chat_messages() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO search_entries(kind, ref_id, source, body) VALUES "
            "('interaction', NEW.interaction_id, 'm:' || NEW.id, search_fts_text(NEW.body)); "
            "RETURN NULL; END $$"
        ),
        (
            "CREATE TRIGGER search_fts_chat_messages_ai AFTER INSERT ON chat_messages FOR EACH ROW "
            "EXECUTE FUNCTION search_fts_chat_messages()"
        ),
        (
            "CREATE FUNCTION search_fts_email_messages() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "DELETE FROM search_entries WHERE source = 'e:' || NEW.id; "
            "IF coalesce(NEW.interaction_id, NEW.case_id) IS NOT NULL THEN "
            "INSERT INTO search_entries(kind, ref_id, source, body) VALUES ("
            "CASE WHEN NEW.interaction_id IS NOT NULL THEN 'interaction' ELSE 'case' END, "
            "coalesce(NEW.interaction_id, NEW.case_id), 'e:' || NEW.id, "
            "search_fts_text(concat_ws(' ', NEW.subject, NEW.text_body))); END IF; "
            "RETURN NULL; END $$"
        ),
        (
            "CREATE TRIGGER search_fts_email_messages_ai AFTER INSERT OR UPDATE OF interaction_id, "
            "case_id ON email_messages FOR EACH ROW EXECUTE FUNCTION search_fts_email_messages()"
        ),
    ]
    return out


_TRIGGER_TABLES = ("interactions", "cases", "customers", "chat_messages", "email_messages")


def _sqlite_drops() -> list[str]:
    names = [f"search_fts_{x}" for x in ("ai", "ad", "au")]
    for table in _TRIGGER_TABLES:
        names += [f"search_fts_{table}_{x}" for x in ("ai", "au", "ad")]
    return [f"DROP TRIGGER IF EXISTS {n}" for n in names] + ["DROP TABLE IF EXISTS search_fts"]


def _pg_drops() -> list[str]:
    out = []
    for table in _TRIGGER_TABLES:
        out += [
            f"DROP TRIGGER IF EXISTS search_fts_{table}_ai ON {table}",
            f"DROP TRIGGER IF EXISTS search_fts_{table}_au ON {table}",
            f"DROP FUNCTION IF EXISTS search_fts_{table}()",
        ]
    return [*out, "DROP INDEX IF EXISTS ix_search_entries_tsv", "DROP FUNCTION search_fts_text"]


def statements(dialect: str) -> list[str]:
    """The statements that set search up on this backend."""
    return _pg_statements() if dialect == "postgresql" else _sqlite_statements()


def drop_statements(dialect: str) -> list[str]:
    """The statements that remove what `statements` made."""
    return _pg_drops() if dialect == "postgresql" else _sqlite_drops()


def install(_target: Any, connection: Connection, **_kw: Any) -> None:
    """Metadata `after_create` hook: set search up on a schema built from tables.py."""
    for statement in statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def is_internal(name: str | None) -> bool:
    """Whether a table or index was made by this module rather than by tables.py."""
    return name is not None and name.startswith(INTERNAL_PREFIXES)


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic filter: leave out the search objects that tables.py does not describe."""
    return type_ not in {"table", "index"} or not is_internal(name)
