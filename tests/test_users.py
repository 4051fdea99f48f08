"""A write to a user makes that user's own pages stale, though ``auth_user`` is whitelisted.

``auth_user`` is on the default whitelist so that a login (which writes ``last_login``) does not
make every page of the site stale. The pages of signed-in users are stamped with a "users"
generation as well, which every other write to the user model's table and to the tables that
carry groups and permissions replaces: revoking a right can never leave a page fresh.
"""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection, transaction
from django.test import Client, override_settings

from jimmypage import conf, generations, users, writes
from tests.counting import round_trips

STATUS = "X-Jimmy-Page"
pytestmark = [
    pytest.mark.usefixtures("clean_state"),
    pytest.mark.django_db(transaction=True),
]
with_status = override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
inactive_users_sign_in = override_settings(
    AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.AllowAllUsersModelBackend"],
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)


@pytest.fixture
def staff():
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    editors = Group.objects.create(name="editors")
    editors.permissions.add(Permission.objects.get(codename="change_article"))
    user.groups.add(editors)
    return user


def signed_in(user, password="pw"):
    client = Client()
    assert client.login(username=user.get_username(), password=password)
    return client


def cached(client, path="/account/"):
    """Ask twice, so that the page is stored and then served: the second answer must be a hit."""
    first = client.get(path)
    second = client.get(path)
    assert (first[STATUS], second[STATUS]) == ("miss", "hit")
    return second


def page_after(client, settle, path="/account/"):
    """The answer right after a write, and the one after its refresh."""
    now = client.get(path)
    settle()
    return now, client.get(path)


@with_status
def test_a_login_writes_last_login_and_leaves_pages_fresh(staff):
    alice = signed_in(staff)
    cached(alice)
    other = User.objects.create_user("other", password="pw")  # a new user: pages go stale
    cached(alice, "/page/")
    signed_in(other)  # last_login only
    signed_in(staff)
    assert alice.get("/page/")[STATUS] == "hit"


@with_status
def test_revoking_staff_with_an_update_makes_the_users_page_stale(staff, settle):
    client = signed_in(staff)
    assert b"staff=True" in cached(client).content
    User.objects.filter(pk=staff.pk).update(is_staff=False)
    now, later = page_after(client, settle)
    assert now[STATUS] == "stale"
    assert later[STATUS] == "hit" and b"staff=False" in later.content


@inactive_users_sign_in
def test_deactivating_with_save_makes_the_users_page_stale(staff, settle):
    client = signed_in(staff)
    assert b"active=True" in cached(client).content
    staff.is_active = False
    staff.save()
    now, later = page_after(client, settle)
    assert now[STATUS] == "stale"
    assert b"active=False" in later.content


@with_status
def test_removing_a_group_makes_the_users_page_stale(staff, settle):
    client = signed_in(staff)
    assert b"may_change=True" in cached(client).content
    staff.groups.remove(Group.objects.get(name="editors"))
    now, later = page_after(client, settle)
    assert now[STATUS] == "stale"
    assert b"groups=|may_change=False" in later.content


@with_status
def test_removing_a_permission_from_a_group_makes_its_users_pages_stale(staff, settle):
    client = signed_in(staff)
    cached(client)
    Group.objects.get(name="editors").permissions.clear()
    now, later = page_after(client, settle)
    assert now[STATUS] == "stale"
    assert b"may_change=False" in later.content


@with_status
def test_after_a_password_change_no_page_from_before_is_served(staff):
    cached(signed_in(staff))
    staff.set_password("new")
    staff.save()
    # The old session ended (Django checks the session's auth hash, made from the password);
    # the pages of a user are keyed by that hash too, so a new session starts afresh.
    assert signed_in(staff, "new").get("/account/")[STATUS] == "miss"


@with_status
def test_a_deleted_users_page_is_never_served_to_a_user_with_the_same_id(staff):
    cached(signed_in(staff))
    pk = staff.pk
    staff.delete()
    heir = User.objects.create_user("heir", password="pw", pk=pk)
    answer = signed_in(heir).get("/account/")
    assert answer[STATUS] == "miss", "not even a stale page of the user who had this id"
    assert b"user=heir" in answer.content


@with_status
def test_a_user_write_in_a_transaction_counts_on_commit_only(staff):
    client = signed_in(staff)
    cached(client)
    with transaction.atomic():
        User.objects.filter(pk=staff.pk).update(is_staff=False)
        assert client.get("/account/")[STATUS] == "hit", "not committed yet"
    assert client.get("/account/")[STATUS] == "stale"


@with_status
def test_a_rolled_back_user_write_changes_nothing(staff):
    client = signed_in(staff)
    cached(client)
    with pytest.raises(RuntimeError), transaction.atomic():
        User.objects.filter(pk=staff.pk).update(is_staff=False)
        raise RuntimeError
    assert client.get("/account/")[STATUS] == "hit"


@with_status
def test_user_writes_leave_anonymous_pages_fresh(staff):
    cached(Client())
    User.objects.filter(pk=staff.pk).update(is_staff=False)
    assert Client().get("/account/")[STATUS] == "hit"


@with_status
@override_settings(JIMMY_PAGE_MODE="per-table")
def test_per_table_mode_too(staff, settle):
    client = signed_in(staff)
    cached(client)
    User.objects.filter(pk=staff.pk).update(is_staff=False)
    now, later = page_after(client, settle)
    assert now[STATUS] == "stale" and b"staff=False" in later.content


@with_status
@override_settings(JIMMY_PAGE_EXPIRATION_WHITELIST=[])
def test_without_the_whitelist_a_user_write_makes_every_page_stale(staff):
    client = signed_in(staff)
    cached(client)
    cached(Client())
    User.objects.filter(pk=staff.pk).update(is_staff=False)
    assert client.get("/account/")[STATUS] == "stale"
    assert Client().get("/account/")[STATUS] == "stale"


@with_status
@override_settings(JIMMY_PAGE_LOCAL_CACHE_BYTES=0)  # with the tier: test_tier.py, none
def test_a_signed_in_hit_is_still_one_round_trip(staff):
    client = signed_in(staff)
    cached(client)
    with round_trips() as counted:
        assert client.get("/account/")[STATUS] == "hit"
    assert counted == {"get_many": 1}


@with_status
def test_an_evicted_users_generation_makes_users_pages_stale_never_fresh(staff):
    from django.core.cache import caches

    client = signed_in(staff)
    cached(client)
    caches["default"].delete(users.generation_key())
    assert client.get("/account/")[STATUS] == "stale"


def test_the_tables_of_users_groups_and_permissions_are_found_from_the_user_model():
    assert users.user_tables() == {
        "auth_user",
        "auth_user_groups",
        "auth_user_user_permissions",
        "auth_group",
        "auth_group_permissions",
        "auth_permission",
    }


@pytest.mark.parametrize(
    "sql",
    [
        'UPDATE "auth_user" SET "last_login" = %s WHERE "auth_user"."id" = %s',
        "UPDATE `auth_user` SET `last_login` = %s WHERE `auth_user`.`id` = %s",
        "update auth_user set last_login = NULL where id = 3",
    ],
)
def test_a_last_login_only_update_is_not_a_user_write(sql):
    assert users.MARK not in (writes.stale_tables(sql) or ())


@pytest.mark.parametrize(
    "sql",
    [
        'UPDATE "auth_user" SET "last_login" = %s, "is_staff" = %s WHERE "auth_user"."id" = %s',
        'UPDATE "auth_user" SET "is_staff" = %s WHERE "auth_user"."id" = %s',
        'UPDATE "auth_user" SET "last_login" = (SELECT 1); DELETE FROM "auth_user"',
        'INSERT INTO "auth_user" ("username") VALUES (%s)',
        'DELETE FROM "auth_user_groups" WHERE "user_id" = %s',
        'DELETE FROM "auth_group_permissions" WHERE "group_id" = %s',
        'INSERT INTO "auth_permission" ("codename") VALUES (%s)',
        'TRUNCATE "auth_group"',
        'UPDATE "auth_user" SET "last_login" = now() WHERE "id" = 1',
    ],
)
def test_other_writes_to_users_groups_and_permissions_are_user_writes(sql):
    with override_settings(JIMMY_PAGE_EXPIRATION_WHITELIST=sorted(users.user_tables())):
        assert writes.stale_tables(sql) == {users.MARK}


def test_a_user_write_replaces_only_the_users_generation(staff):
    before_global = generations.read()
    before_users = users.read_token()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE auth_user SET is_staff = %s WHERE id = %s", [False, staff.pk])
    assert users.read_token() != before_users
    assert generations.read() == before_global
    assert conf.whitelist() >= {"auth_user"}
