import factory

from chatbot.models import Conversation, Message, Site, Visitor

TEST_ORIGIN = "https://www.customer.example"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Customer site {n}")
    allowed_origins = f"{TEST_ORIGIN}\nhttp://127.0.0.1:8000"


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visitor

    site = factory.SubFactory(SiteFactory)
    token = factory.Sequence(lambda n: f"visitor-token-{n:06d}")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    site = factory.SubFactory(SiteFactory)
    visitor = factory.SubFactory(VisitorFactory, site=factory.SelfAttribute("..site"))


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    sender = Message.Sender.VISITOR
    text = factory.Sequence(lambda n: f"message {n}")


async def acreate(factory_class, **kwargs):
    """factory_boy has no async create; run it in a thread like any ORM call."""
    from channels.db import database_sync_to_async

    return await database_sync_to_async(factory_class)(**kwargs)
