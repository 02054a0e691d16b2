from __future__ import annotations

from django.urls import include, path, re_path

from . import views

items = [path("items/<int:item_id>/", views.order_detail, name="item")]

urlpatterns = [
    path("ok/", views.ok, name="ok"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("concurrent/<int:n>/", views.concurrent, name="concurrent"),
    path("async-fail/<int:n>/", views.async_fail, name="async-fail"),
    path("stream-fail/", views.stream_fail, name="stream-fail"),
    path("api/", include(items)),
    re_path(r"^legacy/(?P<slug>[a-z]+)/$", views.legacy, name="legacy"),
]
