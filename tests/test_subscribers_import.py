"""`weekly subscribers import` on the exports of Mailchimp, listmonk, Buttondown and Substack (tests/data/exports,
hand-made to their columns), a CSV named column by column, and what `list`, `add`, `remove` and `export` make
of the store."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import DATA, open_test_store, run_weekly

from composer.deliver.subscribers import ListFile, read_subscribers
from composer.models import Problem

pytestmark = pytest.mark.both_backends
EXPORTS = DATA / "exports"
MAILCHIMP = EXPORTS / "mailchimp"


def _statuses() -> dict[str, str]:
    with open_test_store() as store:
        return {reader.address.lower(): reader.status.value for reader in store.subscribers.all()}


def test_a_mailchimp_export_imports_with_its_statuses():
    """The three files of a Mailchimp audience export: subscribed, unsubscribed (ben left later, so he is
    unsubscribed) and cleaned (bounced); names from First and Last Name; tags and the other columns kept;
    the bad line reported by number. Importing the subscribed file again brings nobody back."""
    first = run_weekly("subscribers", "import", MAILCHIMP / "subscribed_members_export_5f3c2a91be.csv")
    assert first.returncode == 1 and first.stderr.count("\n") == 1
    assert "subscribed_members_export_5f3c2a91be.csv:5: 'not-an-address' is not a valid address" in first.stderr
    assert "a Mailchimp export" in first.stdout and "email='Email Address'" in first.stdout
    assert "added: 3 subscribed" in first.stdout
    for name in ("unsubscribed", "cleaned"):
        done = run_weekly("subscribers", "import", MAILCHIMP / f"{name}_members_export_5f3c2a91be.csv")
        assert done.returncode == 0, done.stderr
    assert _statuses() == {"ana.silva@dw-readers.net": "subscribed", "ben.okafor@dw-readers.net": "unsubscribed",
                           "chloe.martin@dw-readers.net": "subscribed", "eva.novak@dw-readers.net": "unsubscribed",
                           "farid.haddad@dw-readers.net": "bounced"}
    again = run_weekly("subscribers", "import", MAILCHIMP / "subscribed_members_export_5f3c2a91be.csv")
    assert "kept as they are here (not subscribed again by an import): 1 unsubscribed" in again.stdout
    assert _statuses()["ben.okafor@dw-readers.net"] == "unsubscribed"
    with open_test_store() as store:
        ana = store.subscribers.get("ana.silva@dw-readers.net")
        assert ana is not None and ana.name == "Ana Silva" and ana.fields["TAGS"] == '"policy","geneva"'
        assert ana.fields["LEID"] == "118264331" and "Mailchimp" in ana.source
        assert [s.email for s in store.subscribers.audience()] == ["ana.silva@dw-readers.net",
                                                                    "chloe.martin@dw-readers.net"]
        assert store.suppressions.get("farid.haddad@dw-readers.net").reason.startswith("hard bounce")


def test_a_listmonk_export_imports_with_its_statuses():
    """listmonk: enabled is subscribed, blocklisted and disabled are not; attributes and dates kept."""
    done = run_weekly("subscribers", "import", EXPORTS / "listmonk-subscribers.csv")
    assert done.returncode == 0, done.stderr
    assert "a listmonk export" in done.stdout and "added: 2 subscribed, 2 unsubscribed" in done.stdout
    assert _statuses() == {"gita.rao@dw-readers.net": "subscribed", "hugo.lambert@dw-readers.net": "unsubscribed",
                           "ines.costa@dw-readers.net": "unsubscribed", "jon.berg@dw-readers.net": "subscribed"}
    with open_test_store() as store:
        gita = store.subscribers.get("gita.rao@dw-readers.net")
    assert gita.fields["attributes"].startswith('{"city": "Bengaluru"') and gita.name == "Gita Rao"
    assert abs(gita.created - 1699000000) < 100_000  # 2023-11-03, from Go's "… +0000 UTC"


def test_buttondown_and_substack_exports_import_and_unconfirmed_readers_stay_out():
    """Buttondown's subscriber types and Substack's email_disabled give the status; a reader who never
    confirmed (unactivated) is left out and said so."""
    buttondown = run_weekly("subscribers", "import", EXPORTS / "buttondown-subscribers.csv")
    substack = run_weekly("subscribers", "import", EXPORTS / "substack-email-list.csv")
    assert buttondown.returncode == substack.returncode == 0
    assert "a Buttondown export" in buttondown.stdout and "1 never confirmed their address" in buttondown.stdout
    assert "a Substack export" in substack.stdout
    assert _statuses() == {"kofi.mensah@dw-readers.net": "subscribed", "marc.dubois@dw-readers.net": "unsubscribed",
                           "nadia.karim@dw-readers.net": "subscribed", "olga.petrova@dw-readers.net": "subscribed",
                           "pablo.ruiz@dw-readers.net": "subscribed", "quinn.lee@dw-readers.net": "unsubscribed"}


def test_columns_named_by_hand_and_statuses_weekly_does_not_know(tmp_path):
    """A file whose address column has another name is refused until --column names it; an unknown
    status is a bad line, not a guess."""
    path = tmp_path / "crm.csv"
    path.write_text("E-post,Full name,State,Region\nana@dw-readers.net,Ana S,active,EU\nben@dw-readers.net,Ben O,"
                    "maybe,US\n", encoding="utf-8")
    refused = run_weekly("subscribers", "import", path)
    assert refused.returncode == 1 and "--column email=COLUMN" in refused.stderr
    done = run_weekly("subscribers", "import", path, "--column", "email=E-post", "--column", "name=Full name",
                      "--column", "status=State")
    assert done.returncode == 1 and "crm.csv:3: status 'maybe' is not one weekly knows" in done.stderr
    with open_test_store() as store:
        ana = store.subscribers.get("ana@dw-readers.net")
    assert ana.name == "Ana S" and ana.fields == {"Region": "EU"} and _statuses() == {"ana@dw-readers.net": "subscribed"}
    unknown_field = run_weekly("subscribers", "import", path, "--column", "mail=E-post")
    assert unknown_field.returncode == 2 and "FIELD one of email, name" in unknown_field.stderr  # a usage error


def test_send_list_reads_an_export_and_skips_those_it_says_not_to_mail():
    """`weekly send --list` takes a Mailchimp file as it is: its unsubscribed file sends to nobody."""
    rows = list(read_subscribers(MAILCHIMP / "unsubscribed_members_export_5f3c2a91be.csv"))
    assert all(isinstance(row, Problem) and row.level == "warning" and "unsubscribed in the file" in row.message
               for row in rows) and len(rows) == 2
    subscribed = [row for row in read_subscribers(MAILCHIMP / "subscribed_members_export_5f3c2a91be.csv")
                  if not isinstance(row, Problem)]
    assert [(row.email, row.name) for row in subscribed][:1] == [("ana.silva@dw-readers.net", "Ana Silva")]


def test_add_remove_list_and_export_by_hand(tmp_path):
    """add subscribes, remove unsubscribes (and suppresses), add does not undo a removal; list and export
    show each reader with status, date and source; the CSV export imports again as it is."""
    assert run_weekly("subscribers", "add", "ana@dw-readers.net", "--name", "Ana").returncode == 0
    assert run_weekly("subscribers", "add", "ben@dw-readers.net").returncode == 0
    removed = run_weekly("subscribers", "remove", "ben@dw-readers.net")
    assert removed.returncode == 0 and "ben@dw-readers.net: unsubscribed" in removed.stdout
    back = run_weekly("subscribers", "add", "ben@dw-readers.net")
    assert back.returncode == 1 and "weekly suppressed --remove ben@dw-readers.net" in back.stderr
    listed = run_weekly("subscribers", "list")
    assert "subscribed    ana@dw-readers.net  Ana  (added by hand)" in listed.stdout
    assert "unsubscribed  ben@dw-readers.net  (added by hand)" in listed.stdout
    assert "1 subscribed" in listed.stderr and "1 unsubscribed" in listed.stderr
    assert run_weekly("subscribers", "list", "--status", "gone").returncode == 2  # a usage error
    exported = run_weekly("subscribers", "export")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(row["email"], row["status"]) for row in rows] == [("ana@dw-readers.net", "subscribed"),
                                                              ("ben@dw-readers.net", "unsubscribed")]
    (tmp_path / "again.csv").write_text(exported.stdout, encoding="utf-8")
    again = run_weekly("subscribers", "import", tmp_path / "again.csv")
    assert again.returncode == 0 and "already so: 1 subscribed, 1 unsubscribed" in again.stdout


def test_weeklys_own_export_imports_again_as_it_is(tmp_path):
    """The README: an export "imports again as it is". After Mailchimp's three files, a listmonk export
    (its uuid and attributes kept) and a list with a `source` column of its own,
    the export has one column per name and reads back as weekly's own: nobody's status changes, nobody is
    suppressed, and a second export is the first byte for byte."""
    for path in [*sorted(MAILCHIMP.glob("*.csv")), EXPORTS / "listmonk-subscribers.csv"]:
        run_weekly("subscribers", "import", path)
    sourced = tmp_path / "crm.csv"
    sourced.write_text("email,name,source\nhugo.lind@dw-readers.net,Hugo,conference\n", encoding="utf-8")
    assert run_weekly("subscribers", "import", sourced).returncode == 0
    assert run_weekly("subscribers", "add", "ivo.ries@dw-readers.net").returncode == 0
    before = _statuses()
    with open_test_store() as store:
        suppressed = {row.email for row in store.suppressions.all()}
    first = tmp_path / "readers.csv"
    assert run_weekly("subscribers", "export", "-o", first).returncode == 0
    header = next(csv.reader(io.StringIO(first.read_text(encoding="utf-8"))))
    assert len({name.lower() for name in header}) == len(header), header
    assert "source (imported)" in header and "uuid" in header  # kept, and not taken for ours
    again = run_weekly("subscribers", "import", first)
    assert again.returncode == 0 and "weekly's own export" in again.stdout, again
    assert _statuses() == before and "unsubscribed" in before.values() and "subscribed" in before.values()
    with open_test_store() as store:
        assert {row.email for row in store.suppressions.all()} == suppressed
    second = tmp_path / "again.csv"
    assert run_weekly("subscribers", "export", "-o", second).returncode == 0
    assert second.read_bytes() == first.read_bytes()


def test_a_row_is_what_its_own_cells_say(tmp_path):
    """A status column says what a row is now; an empty UNSUB_TIME or CLEAN_TIME cell says nothing; a filled
    one (Mailchimp's unsubscribed and cleaned files) does; Buttondown's paused readers are not mailed."""
    path = tmp_path / "mixed.csv"
    path.write_text("email,status,UNSUB_TIME,CLEAN_TIME\n"
                    "stays@dw-readers.net,subscribed,2024-06-01 10:00:00,\n"
                    "plain@dw-readers.net,,,\n"
                    "left@dw-readers.net,,2024-06-01 10:00:00,\n"
                    "gone@dw-readers.net,,,2024-06-02 11:00:00\n"
                    "paused@dw-readers.net,paused,,\n", encoding="utf-8")
    rows = {row.address: row.status.value for row in ListFile(path) if not isinstance(row, Problem)}
    assert rows == {"stays@dw-readers.net": "subscribed", "plain@dw-readers.net": "subscribed",
                    "left@dw-readers.net": "unsubscribed", "gone@dw-readers.net": "bounced",
                    "paused@dw-readers.net": "unsubscribed"}
