"""A site's database router with a read replica: the test app's writes go to the primary, its
reads to the replica; everything else to ``default``."""

PRIMARY, REPLICA = "jp_primary", "jp_replica"


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return REPLICA if model._meta.app_label == "testapp" else None

    def db_for_write(self, model, **hints):
        return PRIMARY if model._meta.app_label == "testapp" else None

    def allow_relation(self, obj1, obj2, **hints):
        return True
