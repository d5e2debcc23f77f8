"""The sentence-encoder featurizer (chatbot/rasa_plugins/sentence_featurizer.py) on the real weights.

The encoder is the installed all-MiniLM-L6-v2 run by our numpy forward pass; the figures it must
reproduce are the cosine similarities sentence-transformers publishes for this model, so a wrong
layer, a wrong tokenizer or a wrong pooling fails here before it costs NLU accuracy.
"""

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from chatbot.rasa_plugins.sentence_featurizer import SentenceEncoderFeaturizer, chunks_of, encoder


@pytest.fixture(scope="module")
def model():
    return encoder()


@pytest.mark.parametrize(
    ("first", "second", "published"),
    [
        ("The new movie is awesome", "The new movie is so great", 0.8939),
        ("The cat sits outside", "The cat plays in the garden", 0.6788),
        ("I love pasta", "Do you like pizza?", 0.5096),
    ],
)
def test_the_encoder_reproduces_the_published_similarities(model, first, second, published):
    a, b = model.embed([first, second])

    assert float(a @ b) == pytest.approx(published, abs=0.001)
    assert float(np.linalg.norm(a)) == pytest.approx(1.0, abs=1e-5)


def test_a_paraphrase_is_closer_than_an_off_topic_question(model):
    pricing, paraphrase, weather = model.embed(
        ["How much does it cost?", "What do you charge for the product?", "Will it rain tomorrow?"]
    )

    assert float(pricing @ paraphrase) > float(pricing @ weather) + 0.2


def test_padding_does_not_change_an_embedding(model):
    alone = model.embed(["hi"])[0]
    beside_a_long_one = model.embed(["hi", "we would like to qualify the inbound visitors of our website better"])[0]

    assert np.abs(alone - beside_a_long_one).max() < 1e-5


def test_chunks_are_the_whitespace_separated_spans():
    assert chunks_of("  Hi,  there\tyou ") == [(2, 5), (7, 12), (13, 16)]
    assert chunks_of("") == []


@pytest.fixture
def featurizer(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(graph_schema=None, node_name="sentence_encoder")
    config = {**SentenceEncoderFeaturizer.get_default_config(), "batch_size": 2}
    return SentenceEncoderFeaturizer.create(config, storage, Resource("sentence_encoder"), context)


def tokenized(*texts: str) -> list[Message]:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    messages = [Message(data={TEXT: text}) for text in texts]
    tokenizer.process(messages)
    return messages


def test_every_token_gets_a_vector_and_the_message_gets_the_sentence_embedding(featurizer, model):
    texts = ["Hello! How much does it cost?", "Café crème, naïve 🙂 résumé", "ok", "a b c d e f g"]
    messages = tokenized(*texts)

    featurizer.process_training_data(TrainingData(training_examples=messages))

    for message, text in zip(messages, texts, strict=True):
        sequence, sentence = message.get_dense_features(TEXT)
        tokens = message.get(TOKENS_NAMES[TEXT])
        assert sequence.features.shape == (len(tokens), 384)
        assert sentence.features.shape == (1, 384)
        # under the featurizer's name, so a component can take them or leave them (config.yml's CRF does)
        assert {f.origin for f in message.features} == {"sentence_encoder"}
        assert np.abs(sentence.features[0] - model.embed([text])[0]).max() < 1e-4
        assert all(row.any() for row in sequence.features)  # even the emoji's chunk has a wordpiece ([UNK])


def test_tokens_of_one_chunk_share_its_vector_and_other_chunks_differ(featurizer):
    (message,) = tokenized("pricing, please")
    featurizer.process([message])

    sequence = message.get_dense_features(TEXT)[0].features
    assert [t.text for t in message.get(TOKENS_NAMES[TEXT])] == ["pricing", "please"]
    assert not np.allclose(sequence[0], sequence[1])


def test_a_message_longer_than_the_encoder_takes_is_cut_not_refused(featurizer):
    (message,) = tokenized(" ".join(["word"] * 400))
    featurizer.process([message])

    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence.features.shape == (400, 384)
    assert sequence.features[:100].any(axis=1).all()
    assert not sequence.features[-1].any()  # past the cut: zeros, which DIET treats as padding
    assert np.isfinite(sentence.features).all()


def test_a_message_without_text_is_left_alone(featurizer):
    message = Message(data={"intent": "greet"})
    featurizer.process([message])

    assert message.features == []
