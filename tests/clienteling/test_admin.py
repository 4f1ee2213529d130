import pytest
from django.urls import reverse

from clienteling.models import Associate, Store, StoreDevice


@pytest.mark.parametrize("model", [Store, Associate, StoreDevice])
def test_admins_manage_stores_and_staff_in_the_django_admin(client, admin_associate, associate, model):
    client.force_login(admin_associate.user)
    meta = model._meta
    assert client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code == 200


def test_managers_do_not_get_the_django_admin(manager_client):
    response = manager_client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
