from django.db import models


class Row(models.Model):
    name = models.CharField(max_length=50)
    number = models.IntegerField(default=0)

    class Meta:
        app_label = "writes"

    def __str__(self):
        return self.name
