from rest_framework import mixins, routers, serializers, viewsets

from .models import Note


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "title", "body", "created_at"]


class NoteViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer


router = routers.SimpleRouter()
router.register("notes", NoteViewSet)
urlpatterns = router.urls
