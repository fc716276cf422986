#!/usr/bin/env python3
"""Golden VADER scores from vaderSentiment 3.3.2 for websight-core's sentiment tests.

    python3 -m pip install vaderSentiment==3.3.2
    python3 scripts/vader_fixtures.py > websight-core/tests/fixtures/vader.json
"""
import json
import random

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

HAND_WRITTEN = [
    # vaderSentiment's own examples
    "VADER is smart, handsome, and funny.", "VADER is smart, handsome, and funny!",
    "VADER is very smart, handsome, and funny.", "VADER is VERY SMART, handsome, and FUNNY.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.", "The book was good.",
    "At least it isn't a horrible book.", "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today SUX!", "Today only kinda sux! But I'll get by, lol", "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁", "Not bad at all",
    "Sentiment analysis has never been good.", "Sentiment analysis has never been this good!",
    "Most automated sentiment analysis tools are shit.", "With VADER, sentiment analysis is the shit!",
    "Other sentiment analysis tools can be quite bad.", "On the other hand, VADER is quite bad ass",
    "VADER is such a badass!", "Without a doubt, excellent idea.",
    "Roger Dodger is one of the most compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Not such a badass after all.", "Without a doubt, an excellent idea.",
    # reviews: negation, contrast, intensity, caps, punctuation, emoji, idioms
    "Absolutely love this sofa! It's so comfortable and stylish.",
    "The coffee table is perfect, just what I was looking for!",
    "The sofa is less comfortable than I expected.",
    "The bed frame is wobbly and feels cheap.",
    "Drawers of the dresser stick and it was a pain to put together.",
    "It's alright, serves its purpose for now.",
    "Looks nice in photos, but the legs are flimsy.",
    "Looks nice in photos, but the legs are flimsy!!!",
    "I don't hate it, but I don't love it either.",
    "Not the worst chair I've owned, but far from the best.",
    "The delivery was slow but the sofa is GORGEOUS 😍",
    "Never again. 😡", "No complaints at all.", "No problems, no regrets.",
    "There is no way this is worth the money.",
    "It was not terrible, it was not great either.",
    "The assembly was kind of annoying.", "The instructions were sort of useless.",
    "The colour is slightly off.", "The wood is barely scratched.", "It's hardly comfortable.",
    "The desk is extremely sturdy and incredibly well made.",
    "The chair is VERY uncomfortable.", "The chair is very UNCOMFORTABLE.",
    "Is this really a dining table??", "Why would anyone buy this???", "Why?????",
    "Great!!!!!!", "Terrible.", "Meh.", "Ok.", "", "   ", "!!!", ":(", ":-)", "<3",
    "I LOVE it", "i love it", "I Love It", "LOVE IT!!!", "HATE IT",
    "The price was to die for.", "This dresser is the bomb.", "Yeah right, sturdy.",
    "Waiting at the bus stop for the delivery.", "Kiss of death for my back, this chair.",
    "My beating heart skipped when it arrived.", "The cushions cut the mustard.",
    "At least the packaging was good.", "Very least comfortable sofa.",
    "Never so happy with a purchase.", "Never this comfortable before!",
    "Without doubt the best bed.", "Nothing good about it.", "Nope, not good.",
    "It isn't bad.", "It isnt bad.", "It's not not good.", "Rarely disappointed by this shop.",
    "Despite the delay, I'm delighted.", "Ordered the grey sofa. It arrived on Tuesday.",
    "Assembly took about 45 minutes.", "It is 180 cm wide.",
    "Five stars. 👍 ❤️", "Sad and annoyed. 💔", "✨ lovely ✨", "👎👎👎",
    "The seats are super comfy but the tabletop scratches easily.",
    "The seats are super comfy, but the tabletop scratches easily, but I still like it.",
    "I regret buying this coffee table.", "Worth every penny.", "Waste of money.",
    "Best purchase this year!", "Worst purchase this year.",
    "The back support is amazing; the armrests, not so much.",
    "Fine, I guess.", "The dining chairs are FINE.", "Could be better.",
    "Not bad at all, the frame is solid!", "The frame is solid... not bad at all",
    "Kinda nice, kinda cheap.", "Sorta good, sorta bad.", "The handles are marginally better.",
    "DEFINITELY recommend", "Highly recommend!", "Would not recommend.", "Would NOT recommend!!",
]

POSITIVE = ["comfortable", "sturdy", "beautiful", "gorgeous", "solid", "excellent", "great",
            "lovely", "perfect", "elegant", "stylish", "amazing", "nice", "good", "happy"]
NEGATIVE = ["flimsy", "wobbly", "uncomfortable", "cheap", "awful", "terrible", "disappointing",
            "ugly", "poor", "horrible", "useless", "bad", "broken", "sad", "annoying"]
BOOST = ["", "", "very ", "really ", "extremely ", "incredibly ", "so ", "super ", "kind of ",
         "slightly ", "barely ", "totally ", "somewhat "]
NEGATORS = ["", "", "", "not ", "never ", "isn't ", "hardly ", "no longer "]
THINGS = ["sofa", "bed", "dresser", "office chair", "dining table", "cushions", "frame",
          "delivery", "assembly", "coffee table"]
ENDS = [".", "!", "!!", "!!!", "?", "??", "", " :)", " :(", " 😍", " 😡", " 👍", " 😊"]


def generated(rng, n):
    out = []
    for _ in range(n):
        thing = rng.choice(THINGS)
        pos, neg = rng.choice(POSITIVE), rng.choice(NEGATIVE)
        boost, negator, end = rng.choice(BOOST), rng.choice(NEGATORS), rng.choice(ENDS)
        form = rng.randrange(6)
        if form == 0:
            s = f"The {thing} is {negator}{boost}{pos}{end}"
        elif form == 1:
            s = f"The {thing} is {boost}{pos}, but the {rng.choice(THINGS)} is {neg}{end}"
        elif form == 2:
            s = f"{boost}{neg} {thing}{end}".strip().capitalize()
        elif form == 3:
            s = f"I {negator}{rng.choice(['love', 'like', 'hate', 'adore', 'regret'])} this {thing}{end}"
        elif form == 4:
            s = f"The {thing} is {neg} and {boost}{pos}{end}"
        else:
            s = f"{pos.upper()} {thing}, {negator}{neg}{end}"
        if rng.random() < 0.15:
            words = s.split()
            k = rng.randrange(len(words))
            words[k] = words[k].upper()
            s = " ".join(words)
        out.append(s)
    return out


def main():
    rng = random.Random(2024)
    sentences = HAND_WRITTEN + generated(rng, 200)
    analyzer = SentimentIntensityAnalyzer()
    rows = [{"text": s, **analyzer.polarity_scores(s)} for s in sentences]
    print(json.dumps({"vaderSentiment": "3.3.2", "rows": rows}, ensure_ascii=False, indent=0))


if __name__ == "__main__":
    main()
