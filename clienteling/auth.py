"""Authentication backend: the signed-in user comes with her staff record in the same query."""

from django.contrib.auth.backends import ModelBackend, UserModel


class StaffBackend(ModelBackend):
    def get_user(self, user_id):
        # Every staff page reads request.user.associate; joining it here saves a round trip per request.
        user = UserModel._default_manager.select_related("associate").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
