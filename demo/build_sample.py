#!/usr/bin/env python3
"""Build the demo data set: demo/conversations.json in ChatGPT's export format.

Everything here is written by hand for this project.  Each *blueprint* below
describes one kind of conversation (a topic): a few title patterns, hand-written
lists of specific entities ("slots": names, places, versions, order numbers,
error codes ...) and a sequence of user/assistant exchanges with alternative
phrasings.  Every blueprint is instantiated several times; list slots are drawn
without replacement, so each conversation carries its own distinctive facts.

The output mimics the real export: a JSON array of conversations, each with a
``mapping`` tree of nodes (root with a null message, usually a hidden system
message, some regenerated/edited branches that are *not* on the path to
``current_node``, a few empty assistant nodes and occasional ``tool`` messages).

Stdlib only and fully deterministic: the same bytes on every run.

    python demo/build_sample.py            # writes demo/conversations.json
    python demo/build_sample.py -o out.json
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import random
import re
import sys
import uuid

SEED = 20240611
NAMESPACE = uuid.UUID("3b0f6a52-6d1e-4c71-9a0e-2f7c5d8e9b14")
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conversations.json")

# Conversations are spread over this window (UTC).
START = _dt.datetime(2024, 1, 4, tzinfo=_dt.UTC).timestamp()
END = _dt.datetime(2026, 10, 30, tzinfo=_dt.UTC).timestamp()


# --------------------------------------------------------------------------
# Blueprint helpers
# --------------------------------------------------------------------------

BLUEPRINTS: list[dict] = []


def _alts(v):
    return [v] if isinstance(v, str) else list(v)


def X(u, a, opt=False, tool=None, ta=None):
    """One exchange: user text alternatives, assistant text alternatives.

    ``opt`` exchanges may be dropped to vary conversation length.  ``tool`` is
    an optional browsing-result text; when used, the assistant first emits an
    empty tool-call node, then the tool message, then its reply (``ta`` if
    given, a reply that refers to what was looked up).
    """
    return {"u": _alts(u), "a": _alts(a), "opt": opt, "tool": tool, "ta": _alts(ta) if ta else None}


def bp(key, n, titles, slots, exchanges):
    BLUEPRINTS.append({"key": key, "n": n, "titles": _alts(titles), "slots": slots, "ex": exchanges})


def rint(a, b):
    return lambda r, s: r.randint(a, b)


def pat(p):
    """Random code from a pattern: '#' -> digit, '@' -> capital letter, '%' -> lowercase hex digit."""

    def f(r, s):
        out = []
        for ch in p:
            if ch == "#":
                out.append(r.choice("0123456789"))
            elif ch == "@":
                out.append(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ"))
            elif ch == "%":
                out.append(r.choice("0123456789abcdef"))
            else:
                out.append(ch)
        return "".join(out)

    return f


def calc(fn):
    """Derived slot computed from the slots filled so far."""
    return lambda r, s: fn(s)


def money(x):
    return f"{x:,.2f}" if isinstance(x, float) and x != int(x) else f"{int(x):,}"


# --------------------------------------------------------------------------
# Blueprints (hand-written material)
# --------------------------------------------------------------------------

# 1. Sourdough ---------------------------------------------------------------
bp(
    "sourdough",
    6,
    [
        "Sourdough starter {starter} revival",
        "Reviving a sluggish starter ({starter})",
        "Sourdough help: {starter} at {hyd}%",
    ],
    {
        "starter": [
            "Clint Yeastwood",
            "Doughy Parton",
            "Bread Pitt",
            "Gloria",
            "Yeastie Boy",
            "Mr. Bubbles",
            "Sir Loaf-a-lot",
        ],
        "flour": [
            "King Arthur bread flour",
            "Bob's Red Mill whole wheat",
            "Caputo Tipo 00",
            "Central Milling type 85",
            "Wessex Mill strong white",
            "a local stone-ground rye",
        ],
        "hyd": [68, 70, 72, 75, 78, 80],
        "kt": [62, 64, 66, 68, 71, 73],
        "bt": [450, 460, 465, 475, 480, 500],
        "friend": [
            "my neighbor Odile",
            "my aunt Rosalind",
            "a coworker named Tobias",
            "my friend Marguerite",
            "my brother-in-law Kenji",
            "a baker at the farmers market named Luca",
        ],
        "away": [10, 12, 14, 16, 18, 21],
    },
    [
        X(
            [
                "My sourdough starter, {starter}, has gotten really sluggish. It barely rises anymore and my kitchen sits around {kt}°F.",
                "I named my starter {starter} and it's been weak all week, maybe a 30% rise after feeding. The kitchen is about {kt}°F.",
            ],
            [
                "At {kt}°F a starter slows down a lot, so part of this is just temperature. Try feeding at 1:5:5 (starter:flour:water) twice a day and keep the jar somewhere warmer, like the oven with only the light switched on. Give it three or four days of consistent feedings before you judge it.",
                "Cool kitchens are the most common reason for a lazy starter, and {kt}°F is on the chilly side. Feed it twice daily at a 1:5:5 ratio and park it somewhere around 75–78°F. Most starters bounce back within a few days once they're warm and fed on schedule.",
            ],
        ),
        X(
            [
                "I've been feeding it with {flour}. Should I switch flours?",
                "Right now it gets {flour} every feeding. Is that part of the problem?",
            ],
            [
                "{flour} is fine on its own, but mixing in 20–30% whole grain rye or whole wheat gives the yeast and bacteria more to eat and usually speeds things up. Once it's doubling reliably you can go back to your usual flour.",
                "You don't need to abandon {flour}, but adding a spoonful of whole rye to each feeding is a cheap boost. Whole grains carry more wild microbes and nutrients, which helps a tired culture recover.",
            ],
        ),
        X(
            "{friend} gave me the original culture. Is it normal for it to smell like nail polish remover?",
            "Yes, that acetone smell usually means it's hungry and has run out of food. It isn't spoiled; feed it more often or at a higher ratio and the smell should fade within a day or two.",
            opt=True,
        ),
        X(
            [
                "Once it's active again, what hydration should I aim for? I was thinking {hyd}%.",
                "For my first loaf with the revived starter I'm planning {hyd}% hydration. Good idea?",
            ],
            [
                "{hyd}% is a reasonable target. If the dough feels hard to handle, hold back about 30 g of water at the start and add it after the first set of folds. Higher hydration gives a more open crumb but needs more strength-building.",
                "{hyd}% works well for a first loaf. Mix the flour and water first and let it rest for 45 minutes (an autolyse) before adding the starter and salt; it makes a wetter dough much easier to shape.",
            ],
        ),
        X(
            "How long should bulk fermentation take at my kitchen temperature?",
            "At around {kt}°F bulk can take 7–10 hours, so go by the dough rather than the clock. You're looking for roughly a 50–75% rise, a domed surface and a few bubbles on the sides of the container.",
            opt=True,
        ),
        X(
            [
                "My recipe says to bake at {bt}°F in a Dutch oven. Does that sound right?",
                "What oven temperature should I use? The recipe I have says {bt}°F.",
            ],
            "{bt}°F is in the normal range. Preheat the Dutch oven for a full 45 minutes, bake 20 minutes with the lid on, then lower to about 430°F and bake another 20–25 minutes uncovered until the crust is deep brown.",
            opt=True,
        ),
        X(
            "My last loaf had a gummy, dense crumb even though the crust looked great. What went wrong?",
            [
                "A gummy crumb is usually underfermentation or cutting it too early. Let the loaf cool for at least an hour, and next time extend bulk until the dough is noticeably airy and jiggly.",
                "Most often that's underproofing, especially with a sluggish starter, or slicing while it's still hot. Give bulk more time and let the bread cool completely; the crumb keeps setting as it cools.",
            ],
            opt=True,
        ),
        X(
            "I'm away for {away} days soon. Can {starter} survive in the fridge that long?",
            "Easily. Feed it, let it sit out an hour, then refrigerate it with the lid on loosely. After {away} days it'll look sad and have some dark liquid on top; pour that off and give it two or three feedings at room temperature before baking.",
            opt=True,
        ),
    ],
)

# 2. Dinner party -------------------------------------------------------------
bp(
    "dinner_party",
    5,
    ["Dinner party menu for {guests} ({occasion_short})", "Menu for {occasion_short}, {guest} is {r[0]}"],
    {
        "guests": [5, 6, 7, 8, 10, 12],
        "guest": ["Farah", "Matteo", "Ingrid", "Desmond", "Yuki", "Beatriz"],
        "r": [
            (
                "celiac",
                "miso-glazed salmon with tamari instead of soy sauce",
                "gluten hides in regular soy sauce, stock cubes and some miso brands, so buy certified gluten-free versions",
                "a flourless chocolate cake with whipped cream",
            ),
            (
                "vegan",
                "mushroom bourguignon over creamy polenta",
                "butter tends to sneak into polenta, and some red wines are fined with egg whites or casein, so check the label",
                "poached pears in spiced red wine with coconut whipped cream",
            ),
            (
                "allergic to tree nuts",
                "lemon-herb roast chicken with crispy potatoes",
                "pesto, some breadcrumbs and a lot of desserts contain almonds or walnuts, and shared cutting boards are a real risk",
                "a lemon posset with nut-free shortbread",
            ),
            (
                "lactose intolerant",
                "saffron seafood paella",
                "butter and cream turn up in sides and desserts, so lean on olive oil and check any store-bought aioli",
                "mango sorbet with lime zest and fresh mint",
            ),
            (
                "pescatarian",
                "Thai green curry with prawns and charred broccolini",
                "chicken stock is the usual trap, so make sure the rice and curry use vegetable stock",
                "vanilla panna cotta with passion fruit",
            ),
            (
                "allergic to sesame",
                "slow-braised short ribs with gremolata",
                "sesame oil, tahini and seeded bread buns are the usual culprits, and some labels hide it under 'spices'",
                "a classic tiramisu",
            ),
        ],
        "occasion": [
            ("a housewarming", "housewarming"),
            ("my partner's 40th birthday", "40th birthday"),
            ("a farewell dinner for a coworker", "farewell dinner"),
            ("our book club's fifth anniversary", "book club anniversary"),
            ("Diwali", "Diwali dinner"),
            ("a belated Friendsgiving", "Friendsgiving"),
        ],
        "occasion_short": calc(lambda s: s["occasion"][1]),
        "budget": [90, 110, 120, 150, 175, 200],
        "pp": calc(lambda s: f"{s['budget'] / s['guests']:.2f}".rstrip("0").rstrip(".")),
        "arrive": ["6 pm", "6:30", "7 pm", "7:15", "7:30", "8 pm"],
    },
    [
        X(
            [
                "I'm hosting {guests} people for {occasion[0]} on Saturday and one guest, {guest}, is {r[0]}. Can you help me plan a menu?",
                "Planning a dinner for {guests} for {occasion[0]}. {guest} is {r[0]}, so I need a menu that works for everyone.",
            ],
            [
                "Happy to help! The easiest approach is to build the whole menu around {guest}'s needs so nobody ends up with a separate plate. For {guests} people I'd do one shared starter, a main that's naturally safe, two sides and a dessert you can make the day before.",
                "Let's make the whole meal safe for {guest} instead of cooking a special dish; it's less work for you and feels more welcoming. I'd suggest a starter, one main, two sides and a make-ahead dessert.",
            ],
        ),
        X(
            [
                "I was thinking of making {r[1]} as the main. Does that work?",
                "What about {r[1]} for the main course?",
            ],
            "{r[1]} is a great choice for {guests} people: it scales easily and most of the work happens before guests arrive. One thing to watch is that {r[2]}.",
        ),
        X(
            ["What sides would go with it?", "Can you suggest a starter and a couple of sides?"],
            [
                "For sides I'd do a shaved fennel and orange salad and roasted carrots with cumin and honey; both can be prepped in the afternoon. For a starter, a big platter of olives, crudités and a white bean dip keeps people happy while you finish the main.",
                "A crisp green salad with a sharp mustard vinaigrette and some roasted seasonal vegetables would balance it nicely. Start with a simple board of marinated olives, radishes and flatbread so you aren't cooking while people arrive.",
            ],
            opt=True,
        ),
        X(
            [
                "My budget is about ${budget} total. Is that realistic?",
                "I've got roughly ${budget} to spend on food. Enough?",
            ],
            "${budget} for {guests} people works out to about ${pp} per person, which is doable if you buy the main protein on sale and keep the sides vegetable-heavy. Drinks are usually what blows the budget, so consider asking guests to bring a bottle.",
            opt=True,
        ),
        X(
            "What can I make the day before?",
            "Dessert, the dip and any dressings can all be made a day ahead, and you can wash and chop the vegetables and store them in damp towels. Braises and curries actually taste better the next day if your main is one of those.",
            opt=True,
        ),
        X(
            [
                "Any dessert ideas that are safe for {guest}?",
                "And for dessert? It has to be fine for {guest} too.",
            ],
            "I'd go with {r[3]}. It's make-ahead, it looks impressive, and it's easy to check every ingredient against {guest}'s restriction.",
            opt=True,
        ),
        X(
            "Guests arrive at {arrive}. Can you give me a rough timeline for the day?",
            "Working back from {arrive}: get the main going about three hours before, set the table and chill drinks two hours out, roast the vegetables in the last hour, and dress the salad just before serving. Keep the final 30 minutes for yourself to change and clear the counters.",
            opt=True,
        ),
    ],
)

# 3. City trip itinerary ------------------------------------------------------
bp(
    "city_trip",
    6,
    ["{days}-day {trip[0]} itinerary", "Trip planning: {trip[0]} in {month}", "{trip[0]} with {trav_short}"],
    {
        "trip": [
            (
                "Lisbon",
                "Casa dos Azulejos guesthouse",
                "the Jerónimos Monastery",
                "the LX Factory",
                "Alfama",
                "pastéis de nata still warm from the oven",
                "a ride on the 28 tram",
            ),
            (
                "Kyoto",
                "Ryokan Hanamizuki",
                "Fushimi Inari",
                "the Philosopher's Path",
                "Gion",
                "yudofu (simmered tofu) near Nanzen-ji",
                "a Kyoto bus day pass",
            ),
            (
                "Mexico City",
                "Hotel Jacarandas Roma",
                "the Museo Nacional de Antropología",
                "the canals of Xochimilco",
                "Roma Norte",
                "tacos al pastor from a street stand",
                "a rechargeable Metrobús card",
            ),
            (
                "Edinburgh",
                "the Thistle & Tweed B&B",
                "Edinburgh Castle",
                "the hike up Arthur's Seat",
                "Stockbridge",
                "a proper Scottish breakfast",
                "a Lothian Buses day ticket",
            ),
            (
                "Budapest",
                "the Danube Garden Hotel",
                "the Széchenyi Baths",
                "the Great Market Hall",
                "the Jewish Quarter",
                "fresh lángos",
                "a 72-hour Budapest travel card",
            ),
            (
                "Vancouver",
                "the Harbourlight Inn",
                "Stanley Park",
                "Granville Island",
                "Gastown",
                "dim sum in Richmond",
                "a Compass Card for the SkyTrain and SeaBus",
            ),
        ],
        "days": [3, 4, 4, 5, 5, 6],
        "trav": [
            ("my wife and our 9-year-old", "family"),
            ("two friends from college", "college friends"),
            ("my mom, who turns 70 this year", "Mom"),
            ("my partner Noor", "Noor"),
            ("my coworker Ines", "Ines"),
            ("my brother Rafael", "Rafael"),
        ],
        "trav_short": calc(lambda s: s["trav"][1]),
        "month": ["April", "late March", "May", "June", "September", "October"],
        "land": ["2:10 pm", "3:45 pm", "4:40 pm", "5:25 pm", "6:05 pm", "11:50 am"],
        "daily": [120, 150, 180, 200, 90, 250],
    },
    [
        X(
            [
                "I'm going to {trip[0]} for {days} days in {month}, traveling with {trav[0]}. Can you sketch an itinerary?",
                "Help me plan {days} days in {trip[0]} this {month}. I'm going with {trav[0]}.",
            ],
            [
                "Here's a relaxed outline for {trip[0]}. Day 1: settle in and wander {trip[4]}. Day 2: {trip[2]} early in the morning before the crowds, then a slow lunch. Day 3: {trip[3]}, with the evening free. Any remaining days can be flexible for whatever you loved most.",
                "Sure! I'd anchor each day around one big sight and leave room to wander. Start with {trip[4]} on day one, do {trip[2]} on day two and {trip[3]} on day three, then keep the rest open for day trips or rest.",
            ],
        ),
        X(
            [
                "We booked {trip[1]}. Is that a good base for all of this?",
                "Our hotel is {trip[1]}. Does the plan still make sense from there?",
            ],
            "I can't see live maps, but the plan works from most central locations. Check how far {trip[1]} is from {trip[4]} on a map app; if it's more than 20–25 minutes, I'd swap the order so your first evening stays close to the hotel.",
        ),
        X(
            "Our flight lands at {land} on the first day. Should I change day one?",
            "With a {land} arrival, keep day one very light: check in, walk around the neighborhood and have an early dinner. Move anything ticketed to day two so a delay doesn't cost you money.",
            opt=True,
        ),
        X(
            ["What food should we absolutely not miss?", "Any must-eat things there?"],
            [
                "Definitely try {trip[5]}. Beyond that, ask your hosts at {trip[1]} where they eat; small neighborhood spots are usually better value than places near the big sights.",
                "Top of my list would be {trip[5]}. I'd also plan one long, unhurried lunch rather than dinner at popular places; it's cheaper and easier to get a table.",
            ],
            opt=True,
        ),
        X(
            "Is it worth getting a transit pass or should we just walk?",
            "You'll walk a lot, but {trip[6]} is worth it for longer hops and tired legs at the end of the day. Compare the price of a multi-day pass with four or five single rides per day before buying.",
            opt=True,
        ),
        X(
            "What's the weather usually like there in {month}?",
            "{month} is usually fairly mild in {trip[0]}, but expect a few rainy days. Pack layers and a light waterproof jacket, and keep one indoor backup plan (a museum or market) for a wet afternoon.",
            ta="From what I found, {month} is usually mild in {trip[0]} with a real chance of rain on several days. Pack layers and a light waterproof jacket, and keep one indoor backup plan (a museum or market) for a wet afternoon.",
            opt=True,
            tool="Climate summary for {trip[0]} ({month}): average highs in the mid-teens to low 20s °C depending on the week, roughly 8–11 days with some rain, sunrise around 6:30–7:00. Source: regional weather service climate normals.",
        ),
        X(
            [
                "Our spending money is about ${daily} a day, not counting the hotel. Is that enough?",
                "Budget check: roughly ${daily} per day for food, transport and tickets. Realistic?",
            ],
            "${daily} a day is workable if you mix sit-down meals with cheap lunches and buy tickets for the big sights online in advance. Set aside a bit extra for the day you visit {trip[2]}, since entry fees and snacks add up.",
            opt=True,
        ),
    ],
)

# 4. Flight disruption --------------------------------------------------------
bp(
    "flight_disruption",
    6,
    [
        "Cancelled flight {flight} rebooking",
        "Flight {flight} delayed: my rights?",
        "Rebooking after {airline} cancellation",
    ],
    {
        ("airline", "flight", "route"): [
            ("Lufthansa", "LH 1832", ("Munich", "Porto")),
            ("United", "UA 2291", ("Denver", "Newark")),
            ("KLM", "KL 1604", ("Amsterdam", "Bergen")),
            ("Air Canada", "AC 871", ("Montreal", "Paris")),
            ("easyJet", "U2 4415", ("Geneva", "Manchester")),
            ("Delta", "DL 409", ("Atlanta", "Lisbon")),
            ("Iberia", "IB 3167", ("Madrid", "Dublin")),
        ],
        "pnr": pat("@@#@@#"),
        "hours": [3, 4, 5, 6, 9, 14],
        "hotel_cost": [139, 164, 189, 212, 98, 245],
        "reason": [
            "a crew shortage",
            "a 'technical issue'",
            "weather at the destination",
            "an air traffic control strike",
            "a missed connection caused by their own delay",
            "an overbooked flight",
        ],
    },
    [
        X(
            [
                "My {airline} flight {flight} from {route[0]} to {route[1]} just got cancelled. What are my options?",
                "{airline} cancelled {flight} ({route[0]} to {route[1]}) an hour before boarding. What should I do first?",
            ],
            [
                "First, get in the rebooking queue and call or use the app at the same time; whichever is faster wins. Ask to be rebooked on the next available flight, including partner airlines, and keep every receipt from now on. Take a screenshot of the cancellation notice too.",
                "Do two things at once: open the {airline} app to look for automatic rebooking and call customer service while you wait in line at the desk. Ask for the earliest option, even on a partner airline, and save the cancellation message and all receipts.",
            ],
        ),
        X(
            "They said it was because of {reason}. Does that matter for compensation?",
            ta="I looked up the rules. Compensation generally depends on whether the cause was within {airline}'s control: crew shortages and most technical problems usually count, while weather and air traffic control strikes are 'extraordinary circumstances'. For a flight from {route[0]}, EU-style rules may apply, so ask the agent to confirm the reason in writing.",
            tool="Passenger rights summary (EU Regulation 261/2004): fixed compensation of EUR 250 (flights up to 1,500 km), EUR 400 (1,500–3,500 km) or EUR 600 (over 3,500 km) when a cancellation is notified less than 14 days before departure and the cause is not an extraordinary circumstance; care (meals, hotel if needed) is owed regardless of cause.",
            a=[
                "It matters a lot. Airlines generally owe compensation for reasons within their control, like staffing or most technical problems, but not for 'extraordinary circumstances' such as weather or air traffic control strikes. Write down exactly what the agent said and ask for it in writing.",
                "Yes. Compensation usually depends on whether the cause was within the airline's control. Crew and technical problems usually are; weather and ATC strikes usually aren't. Ask them to confirm the reason in writing or in the app.",
            ],
        ),
        X(
            "My booking reference is {pnr}. The app now shows me on a flight {hours} hours later. Should I accept it?",
            "If a {hours}-hour delay works for you, accept it before the seats are gone; you can still claim compensation or expenses afterwards. Note that under EU261 and similar rules the length of the final arrival delay is what counts, so record the actual arrival time for booking {pnr}.",
            opt=True,
        ),
        X(
            [
                "The new flight isn't until tomorrow, so I had to book a hotel for ${hotel_cost}. Will they pay for that?",
                "I ended up paying ${hotel_cost} for an airport hotel. Can I get that back?",
            ],
            "When the airline is responsible for an overnight delay, reasonable hotel costs are normally reimbursable. Keep the ${hotel_cost} receipt, plus receipts for meals and transport, and submit them through the {airline} claims form with your booking reference.",
            opt=True,
        ),
        X(
            "Can you draft a short compensation claim I can paste into their form?",
            "Here's a draft: 'My flight {flight} from {route[0]} to {route[1]} (booking {pnr}) was cancelled due to {reason}. I was rebooked and arrived {hours} hours later than scheduled. I am requesting compensation under the applicable passenger rights regulation plus reimbursement of my hotel (${hotel_cost}) and meals; receipts are attached.' Adjust the figures to match your receipts.",
            opt=True,
        ),
        X(
            "How long do they usually take to respond, and what if they reject it?",
            "Many airlines answer within a few weeks. If they reject a claim you believe is valid, escalate to the national enforcement body or an alternative dispute resolution scheme; small-claims court is the last resort. Don't sign away your rights for a travel voucher unless it's clearly worth more to you.",
            opt=True,
        ),
    ],
)

# 5. Python debugging ---------------------------------------------------------
bp(
    "python_debug",
    6,
    ["Python {errname} in {func}", "Debugging {errname} ({lib})", "Fixing {func} crash"],
    {
        "err": [
            (
                "KeyError: 'customer_id'",
                "the dict you're indexing doesn't have that key for at least one record",
                "use record.get('customer_id') and log the records where it's missing",
            ),
            (
                "TypeError: 'NoneType' object is not subscriptable",
                "a function returned None where you expected a list or dict",
                "check the function's return paths; one branch probably falls through without a return",
            ),
            (
                "RecursionError: maximum recursion depth exceeded",
                "a recursive call never reaches its base case",
                "add a print of the arguments at the top of the function and look for the value that repeats",
            ),
            (
                "UnicodeDecodeError: 'utf-8' codec can't decode byte 0x92",
                "the file isn't UTF-8; 0x92 is a Windows-1252 curly apostrophe",
                "open it with encoding='cp1252' or re-save it as UTF-8",
            ),
            (
                "AttributeError: 'list' object has no attribute 'items'",
                "you're calling a dict method on a list, probably a JSON array",
                "iterate over the list first, or check whether the API sometimes returns a list instead of an object",
            ),
            (
                "ValueError: too many values to unpack (expected 2)",
                "one of the rows has more than two fields",
                "split with maxsplit=1 or unpack into a list and inspect the bad row",
            ),
        ],
        "errname": calc(lambda s: s["err"][0].split(":")[0]),
        ("func", "file"): [
            ("parse_invoices()", "invoices_2024_q1.csv"),
            ("load_sensor_readings()", "sensor_dump.jsonl"),
            ("build_tree()", "org_chart.json"),
            ("import_contacts()", "contacts_export.csv"),
            ("sync_orders()", "orders_march.json"),
            ("load_transactions()", "bank_export_2023.csv"),
        ],
        "lib": [
            "pandas 2.2.1",
            "requests 2.31.0",
            "SQLAlchemy 2.0.29",
            "Django 5.0.4",
            "FastAPI 0.110.0",
            "pydantic 2.7.1",
            "httpx 0.27.0",
        ],
        "pyver": ["3.10.12", "3.11.7", "3.12.2", "3.12.4", "3.9.18", "3.13.0"],
        "line": rint(23, 412),
        "rows": [1840, 5312, 12007, 48210, 731, 96544],
        "bad": calc(lambda s: f"{max(2, s['rows'] * 37 // 61):,}"),
    },
    [
        X(
            [
                "I'm getting `{err[0]}` on line {line} of {func}. It worked yesterday. Python {pyver}.",
                "My script crashes in {func} at line {line} with {err[0]}. Any idea why? I'm on Python {pyver}.",
            ],
            [
                "That error usually means {err[1]}. Since it worked yesterday, the input data probably changed rather than the code. Can you share the few lines around line {line} and tell me what file it reads?",
                "Most likely {err[1]}. When code that used to work starts failing like this, the data has usually changed. Paste the surrounding code and I'll take a look.",
            ],
        ),
        X(
            [
                "It reads {file}, which has about {rows:,} rows. The code is just a loop over the records.",
                "The input is {file} with {rows:,} records, and {func} loops over them one by one.",
            ],
            "With {rows:,} records, it's very likely just one or two bad rows. A quick fix is to {err[2]}. Wrap the loop body in a try/except that prints the index and the record, so you can see exactly which one breaks.",
        ),
        X(
            "I'm also using {lib}. Could the library be the cause?",
            "It's possible but less likely than the data. If you recently upgraded to {lib}, check its changelog for changes in return types or defaults. You can confirm by pinning the previous version in a fresh virtualenv and running the same input.",
            ta="I checked the release notes for {lib} and nothing there obviously matches your error; the changes are mostly deprecations and bug fixes. The data is still the more likely cause, but you can rule the library out by pinning the previous version in a fresh virtualenv and running the same input.",
            tool="Release notes, {lib} (excerpt): bug fixes; several previously deprecated keyword arguments now emit warnings; improved error messages for invalid input; no changes to public return types.",
            opt=True,
        ),
        X(
            [
                "Found it, record {bad} was the culprit. How do I make this robust going forward?",
                "OK, a single malformed record was the problem. How should I handle this properly?",
            ],
            [
                "Validate at the boundary: check each record as it's read, collect the bad ones into a separate list or file with the reason, and keep processing the rest. At the end, log a summary like '2 of {rows:,} records skipped' so problems are visible without crashing the job.",
                "Separate parsing from processing. Parse every record into a small dataclass, reject and log the ones that fail, and only pass clean objects to {func}. That way one bad row can never take down the whole run.",
            ],
            opt=True,
        ),
        X(
            "Should I write a test for this?",
            "Yes. Put the offending record in a small fixture file and write a pytest test asserting that {func} skips it and reports it. That test will stop this exact bug from coming back.",
            opt=True,
        ),
        X(
            "Can you show a minimal pytest for that?",
            "Something like: `def test_skips_bad_record(tmp_path): path = tmp_path / 'in.csv'; path.write_text(GOOD + BAD); result = parse(path); assert len(result.ok) == 1 and len(result.skipped) == 1`. Adjust the names to your code; the key is one good and one bad record in the fixture.",
            opt=True,
        ),
        X(
            "Is it worth upgrading from Python {pyver} while I'm at it?",
            "Not as part of this fix. Keep the bug fix and the upgrade in separate changes so that if something breaks you know which one caused it. Once the fix is merged, upgrading is a good next step.",
            opt=True,
        ),
    ],
)

# 6. SQL help -----------------------------------------------------------------
bp(
    "sql_help",
    6,
    ["SQL: {task[0]}", "Slow {db} query on {table}", "{db} {errcode} error"],
    {
        "db": [
            "PostgreSQL 15.6",
            "PostgreSQL 16.2",
            "Amazon RDS PostgreSQL 15.5",
            "Supabase Postgres 15.1",
            "PostgreSQL 14.11",
            "PostgreSQL 17.0",
        ],
        ("task", "table", "col"): [
            (
                (
                    "top 5 customers by revenue per month",
                    "a window function with ROW_NUMBER() partitioned by month",
                ),
                "orders",
                "customer_id",
            ),
            (
                ("finding duplicate emails", "GROUP BY lower(email) HAVING count(*) > 1"),
                "subscriptions",
                "email",
            ),
            (
                ("a running total of shipping costs", "SUM(cost) OVER (ORDER BY shipped_at)"),
                "shipments",
                "shipped_at",
            ),
            (("patients with no visits in 90 days", "a NOT EXISTS subquery"), "patient_visits", "patient_id"),
            (
                ("daily unique visitors per page", "COUNT(DISTINCT visitor_id) grouped by page and day"),
                "page_views",
                "page_id",
            ),
            (
                ("the latest entry per employee", "DISTINCT ON (employee_id) ordered by logged_at DESC"),
                "timesheets",
                "employee_id",
            ),
        ],
        "rows": ["2.4 million", "18 million", "640,000", "55 million", "9.1 million", "310,000"],
        "secs": [14, 22, 38, 61, 9, 120],
        "errcode": ["42803", "42P01", "23505", "40P01", "42883", "22P02"],
        "errmsg": calc(
            lambda s: {
                "42803": "column must appear in the GROUP BY clause or be used in an aggregate function",
                "42P01": "relation does not exist",
                "23505": "duplicate key value violates unique constraint",
                "40P01": "deadlock detected",
                "42883": "operator does not exist: text = integer",
                "22P02": "invalid input syntax for type integer",
            }[s["errcode"]]
        ),
        "fix": calc(
            lambda s: {
                "42803": "every selected column that isn't aggregated has to be listed in GROUP BY",
                "42P01": "the table name is wrong or the schema isn't on your search_path; try schema-qualifying it",
                "23505": "you're inserting a row whose key already exists; use INSERT ... ON CONFLICT DO NOTHING or DO UPDATE",
                "40P01": "two transactions locked rows in opposite orders; make them update rows in a consistent order",
                "42883": "you're comparing a text column to a number; cast one side explicitly",
                "22P02": "a string that isn't a number is being cast to integer; filter or clean those values first",
            }[s["errcode"]]
        ),
    },
    [
        X(
            [
                "I need a query for {task[0]} on our {table} table. We're on {db}.",
                "How would you write {task[0]} in SQL? Table is {table}, database is {db}.",
            ],
            [
                "The cleanest way is {task[1]}. Can you share the relevant columns of {table}? I'll write the exact query once I know the column names and types.",
                "I'd use {task[1]}. Send me the column list for {table} and I'll put together the full query.",
            ],
        ),
        X(
            "I tried it but got error {errcode}: {errmsg}.",
            [
                "Error {errcode} means {fix}. Paste the query you ran and I'll point to the exact line.",
                "That's SQLSTATE {errcode}. In practice it means {fix}.",
            ],
        ),
        X(
            [
                "It runs now, but it takes {secs} seconds. The table has {rows} rows.",
                "Works, but it's slow: {secs} s on {rows} rows.",
            ],
            [
                "With {rows} rows, {secs} seconds usually means a sequential scan. Run EXPLAIN ANALYZE and check whether it uses an index on {col}. If not, an index on ({col}, created_at) is the first thing I'd try.",
                "Run the query with EXPLAIN ANALYZE and look for a 'Seq Scan' on {table}. A composite index on {col} plus your date column will probably cut that {secs}-second runtime dramatically.",
            ],
            opt=True,
        ),
        X(
            "Will adding an index lock the table? This is production.",
            "A plain CREATE INDEX blocks writes to the table while it builds. Use CREATE INDEX CONCURRENTLY instead, which avoids the long write lock, though it takes longer and can't run inside a transaction block. Try it on a copy or staging database first.",
            opt=True,
        ),
        X(
            "Added the index on {col}; it's down to under a second. Anything else I should check?",
            "Nice! Keep an eye on write performance, since every index slows inserts a little. Also run ANALYZE after big data loads so the planner has fresh statistics.",
            opt=True,
        ),
        X(
            "Can you explain what the window function part is actually doing?",
            "A window function computes a value across a set of related rows without collapsing them like GROUP BY does. PARTITION BY defines the groups, ORDER BY sets the order inside each group, and functions like ROW_NUMBER() or SUM() then run over that window for each row.",
            opt=True,
        ),
        X(
            "Should I turn this into a view or a materialized view for the dashboard?",
            "If the dashboard can tolerate data that's a few minutes old, a materialized view refreshed on a schedule is a good fit for a query this heavy. If it must be live, use a normal view and rely on the index.",
            opt=True,
        ),
    ],
)

# 7. Rust borrow checker ------------------------------------------------------
bp(
    "rust_borrow",
    5,
    ["Rust {code} in {project}", "Borrow checker error {code}", "Rust help: {code} with {crate}"],
    {
        "code": ["E0502", "E0499", "E0382", "E0597", "E0106", "E0308"],
        "expl": calc(
            lambda s: {
                "E0502": "you're holding an immutable borrow while trying to take a mutable one",
                "E0499": "there are two mutable borrows of the same value alive at once",
                "E0382": "the value was moved and then used again",
                "E0597": "a reference outlives the value it points to",
                "E0106": "a function returns a reference but Rust can't tell which input it borrows from, so it needs a lifetime",
                "E0308": "the types don't match, often a String versus &str or an Option you forgot to unwrap",
            }[s["code"]]
        ),
        "project": [
            "a CLI that renames photos",
            "a tiny key-value store",
            "a Game of Life simulator",
            "a log file parser",
            "a Discord bot",
            "an RSS reader",
        ],
        "crate": ["tokio 1.37", "serde 1.0.197", "clap 4.5.4", "rayon 1.10", "reqwest 0.12.4", "axum 0.7.5"],
        "struct": ["Inventory", "Parser", "Board", "Cache", "Session", "FeedStore"],
        "rustc": ["1.76.0", "1.77.2", "1.78.0", "1.79.0", "1.80.1", "1.75.0"],
    },
    [
        X(
            [
                "I'm learning Rust by writing {project} and I keep hitting error {code}. Can you explain it?",
                "Rust newbie here. Building {project}, stuck on {code}. What does it actually mean?",
            ],
            [
                "{code} means {expl}. The compiler is protecting you from a data race or a dangling reference. Share the function and I'll show where the conflicting borrows overlap.",
                "In short, {code} means {expl}. It's one of the most common errors when starting out, so you're in good company. Paste the snippet and the full compiler message.",
            ],
        ),
        X(
            [
                "It's in a method on my {struct} struct where I loop over self.items and call self.update() inside the loop.",
                "The error is inside impl {struct}: I iterate over self.items and call another &mut self method in the loop body.",
            ],
            [
                "That's the classic case: the loop borrows self.items, and self.update() needs all of self mutably. Either collect the keys or indices you need first and loop over those, or split the struct so update() only borrows the field it actually changes.",
                "The iterator keeps a borrow of self alive for the entire loop, so calling a &mut self method inside conflicts. A common fix is to gather the changes into a Vec during the loop and apply them afterwards.",
            ],
        ),
        X(
            "Would wrapping everything in Rc<RefCell<...>> make this go away?",
            "It would compile, but it moves the check to runtime, so you'd get a panic instead of a compile error if you get it wrong. For a single-threaded {project}, restructuring the borrows is usually cleaner; save RefCell for genuinely shared, mutable graphs.",
            opt=True,
        ),
        X(
            "I'm also using {crate}. Does that change anything?",
            "Not for this error, since it's purely about your own struct's borrows. With async code in tokio you may later meet 'future is not Send' errors, which are a different beast, but this one is independent of the crate.",
            opt=True,
        ),
        X(
            [
                "Restructured it with a separate Vec of changes and it compiles now on rustc {rustc}!",
                "Done, collecting changes first fixed it. Compiles on {rustc}.",
            ],
            "Great! That pattern ('collect, then apply') shows up everywhere in Rust. Run cargo clippy as well; it often suggests small simplifications once the borrow structure is clean.",
            opt=True,
        ),
        X(
            "Any good resources to get better at ownership and lifetimes?",
            "The ownership chapters of 'The Rust Programming Language' book are the place to start, then 'Rust for Rustaceans' once you're comfortable. Writing a small linked list (the 'Learning Rust With Entirely Too Many Linked Lists' guide) is a great, if painful, exercise.",
            opt=True,
        ),
    ],
)

# 8. React bug ----------------------------------------------------------------
bp(
    "react_bug",
    5,
    ["React {comp} re-render loop", "useEffect issue in {comp}", "React {ver}: {symptom[0]}"],
    {
        "comp": [
            "<CheckoutForm>",
            "<SearchBar>",
            "<Dashboard>",
            "<ProfileCard>",
            "<Calendar>",
            "<ChatWindow>",
        ],
        "ver": [
            "18.2.0",
            "18.3.1",
            "19.0.0",
            "18.2.0 with Next.js 14.1",
            "18.3.1 with Vite 5.2",
            "19.0.0 with Next.js 15.0",
        ],
        "symptom": [
            (
                "infinite re-render",
                "the console says 'Too many re-renders. React limits the number of renders to prevent an infinite loop.'",
            ),
            ("API called twice on mount", "the fetch fires twice every time the page loads in development"),
            ("stale state in a callback", "the click handler always sees the old value of the counter"),
            (
                "input loses focus on every keystroke",
                "the text field loses focus after every character I type",
            ),
            ("hydration mismatch", "Next.js warns 'Text content does not match server-rendered HTML'"),
            (
                "memory leak warning",
                "the console warns 'Can't perform a React state update on an unmounted component'",
            ),
        ],
        "fix": calc(
            lambda s: {
                "infinite re-render": "you're calling a state setter during render, often onClick={handle()} instead of onClick={handle}",
                "API called twice on mount": "that's StrictMode intentionally double-invoking effects in development; it won't happen in production, but your effect should still clean up",
                "stale state in a callback": "the callback closed over an old value; use the functional form setCount(c => c + 1) or add the value to the dependency array",
                "input loses focus on every keystroke": "the component is defined inside another component, so it's recreated on every render; move it out to module level",
                "hydration mismatch": "something renders differently on the server and client, like Date.now() or window checks; move it into useEffect",
                "memory leak warning": "an async call finishes after unmount; abort it in the effect cleanup with an AbortController",
            }[s["symptom"][0]]
        ),
        "api": [
            "/api/cart",
            "/api/search?q=",
            "/api/metrics",
            "/api/users/me",
            "/api/events",
            "/api/messages",
        ],
    },
    [
        X(
            [
                "My {comp} component has a bug: {symptom[1]}. I'm on React {ver}.",
                "Weird {symptom[0]} in {comp}: {symptom[1]}. Using React {ver}. Any idea?",
            ],
            [
                "Most likely {fix}. If you paste the component I can point to the exact line.",
                "Classic React gotcha: {fix}. Share the code for {comp} and I'll confirm.",
            ],
        ),
        X(
            "The component fetches from {api} inside a useEffect with an empty dependency array.",
            "An empty dependency array is fine for a one-time fetch, but make sure the effect returns a cleanup function that aborts the request. Also, if the fetch sets state that another effect depends on, you can get chains of renders that are hard to follow.",
        ),
        X(
            "Should I just switch to React Query for {api}?",
            "For anything beyond a single simple fetch, yes. TanStack Query handles caching, deduplication, retries and cancellation, which removes a whole category of useEffect bugs. It's a small dependency for what it gives you.",
            opt=True,
        ),
        X(
            [
                "Moving the inner component out fixed part of it. Why does defining components inside others cause problems?",
                "Why is it bad to declare a component inside another component's body?",
            ],
            "Because every render creates a brand-new function, React sees it as a different component type, unmounts the old one and mounts a new one, losing its state and focus. Defining it at module level keeps the identity stable.",
            opt=True,
        ),
        X(
            "How can I see why {comp} re-renders so often?",
            "Use the React DevTools Profiler and turn on 'Record why each component rendered'. It shows whether a render came from props, state, context or a parent. That's usually faster than sprinkling console.log everywhere.",
            opt=True,
        ),
        X(
            "Fixed! Thanks. Anything I should add so this doesn't regress?",
            "Add a test with React Testing Library that renders {comp}, interacts with it, and asserts the API mock was called exactly once. Also keep the eslint-plugin-react-hooks rules on; they catch most dependency-array mistakes.",
            opt=True,
        ),
    ],
)

# 9. Docker / deployment -----------------------------------------------------
bp(
    "docker_deploy",
    5,
    [
        "Docker container {svc} exits with code {exit}",
        "Deploying {svc} on {host}",
        "Container {svc} keeps restarting",
    ],
    {
        "svc": ["invoice-api", "photo-resizer", "grafana-proxy", "billing-worker", "wiki-app", "mqtt-bridge"],
        "exit": ["137", "139", "1", "143", "126", "127"],
        "exit_expl": calc(
            lambda s: {
                "137": "the process was killed with SIGKILL, almost always by the out-of-memory killer",
                "139": "a segmentation fault inside the process, often a native library built for the wrong architecture",
                "1": "a generic application error, so the answer is in the container logs",
                "143": "the container received SIGTERM, meaning something asked it to stop, like a health check or an orchestrator",
                "126": "the entrypoint exists but isn't executable, often a missing chmod +x or a Windows line ending",
                "127": "the entrypoint command wasn't found in the image",
            }[s["exit"]]
        ),
        "cause": calc(
            lambda s: {
                "137": "It was the memory limit. The app needed about twice as much during startup",
                "139": "It was an amd64 build of a native image library running on an arm64 host",
                "1": "The logs showed DATABASE_URL wasn't set because I'd misspelled it in the .env file",
                "143": "The healthcheck was hitting the wrong port, so the container kept getting stopped",
                "126": "entrypoint.sh had Windows line endings and no execute bit",
                "127": "The Dockerfile copied start.sh to /srv but the entrypoint pointed at /app/start.sh",
            }[s["exit"]]
        ),
        "host": [
            "a Hetzner CX22 VPS",
            "a Raspberry Pi 5",
            "an AWS t3.small",
            "a DigitalOcean 1 GB droplet",
            "a Synology DS923+",
            "an old ThinkPad running Ubuntu 24.04",
        ],
        "mem": ["512m", "256m", "1g", "768m", "384m", "2g"],
        "port": [8080, 3000, 5000, 8000, 9000, 1883],
        "compose": ["2.24.6", "2.27.0", "2.29.1", "2.20.3", "2.26.1", "2.30.3"],
    },
    [
        X(
            [
                "My {svc} container keeps dying with exit code {exit}. It's running on {host}.",
                "docker ps -a shows {svc} Exited ({exit}) a few seconds after start. Host is {host}. What does that code mean?",
            ],
            [
                "Exit code {exit} means {exit_expl}. Run `docker logs {svc}` and `docker inspect {svc} --format '{{{{.State.OOMKilled}}}}'` to confirm.",
                "Code {exit} usually means {exit_expl}. The container logs and `docker inspect` output will tell us more.",
            ],
        ),
        X(
            [
                "I set mem_limit to {mem} in the compose file. Could that be it?",
                "The compose file has a memory limit of {mem}. Related?",
            ],
            "If the exit code is 137, a {mem} limit is the prime suspect. Watch `docker stats` while the service starts; if memory climbs to the limit right before it dies, raise the limit or reduce the app's worker count or cache size.",
        ),
        X(
            "The app listens on port {port}, but I can't reach it from my laptop even when it's up.",
            "Check three things: the app binds to 0.0.0.0 rather than 127.0.0.1 inside the container, the compose file publishes '{port}:{port}', and the host firewall (ufw or the cloud provider's security group) allows port {port}.",
            opt=True,
        ),
        X(
            "I'm on Docker Compose {compose}. Should I still have the version: key at the top?",
            "No, with Compose v2 (you're on {compose}) the top-level version key is obsolete and just triggers a warning. You can delete it safely.",
            ta="According to the Compose documentation, the top-level version key is obsolete in Compose v2 and only produces a warning, so on {compose} you can delete it safely.",
            tool="Docker Docs, Compose file reference: 'The top-level version property is defined by the Compose Specification for backward compatibility. It is only informative and you'll receive a warning message that it is obsolete if used.'",
            opt=True,
        ),
        X(
            [
                "How do I make it restart automatically but not loop forever?",
                "What restart policy should I use?",
            ],
            "Use `restart: unless-stopped` for a long-running service, and add a healthcheck so you notice when it's up but broken. Docker already backs off between restarts, but if it's crash-looping, fix the root cause rather than relying on restarts.",
            opt=True,
        ),
        X(
            "Can you give me a sensible healthcheck for an HTTP service?",
            "Something like: `healthcheck: test: ['CMD', 'wget', '-qO-', 'http://localhost:{port}/health']`, interval 30s, timeout 5s, retries 3, start_period 20s. Use curl instead if your image has it, and make the /health endpoint cheap.",
            opt=True,
        ),
        X(
            "Found it! {cause}. Thanks!",
            "Glad you found it! That one catches a lot of people. Leave a comment in the compose file or a note in the README about it, and keep an eye on `docker events` for a few days to make sure {svc} stays up.",
            opt=True,
        ),
    ],
)

# 10. Git trouble -------------------------------------------------------------
bp(
    "git_trouble",
    5,
    ["Git: {problem[2]}", "Recovering from {problem[2]} on {branch}", "Git help ({branch})"],
    {
        "problem": [
            (
                "accidentally committed to main",
                "create a branch at your current commit to keep the work, then reset main to origin/main",
                "commits on main by mistake",
            ),
            (
                "lost commits after a hard reset",
                "git reflog, then git branch rescue <sha>",
                "lost commits after reset --hard",
            ),
            (
                "hit a merge conflict in package-lock.json",
                "take one side, then regenerate it with npm install",
                "package-lock.json merge conflict",
            ),
            (
                "pushed a secret to GitHub",
                "rotate the secret first, then rewrite history with git filter-repo",
                "secret pushed to GitHub",
            ),
            (
                "ended up in detached HEAD state",
                "create a branch right where you are with git switch -c, so the work is kept",
                "detached HEAD",
            ),
            (
                "messed up a rebase halfway through",
                "git rebase --abort, or git reset --hard ORIG_HEAD after it finished",
                "rebase gone wrong",
            ),
        ],
        "branch": [
            "feature/invoice-export",
            "fix/login-timeout",
            "chore/upgrade-node20",
            "feature/dark-mode",
            "hotfix/2.3.1",
            "spike/search-ranking",
        ],
        "sha": pat("%%%%%%%"),
        "ncommits": [2, 3, 4, 5, 7, 11],
        "teammate": ["Priyanka", "Jonas", "Adaeze", "Wojtek", "Camille", "Hiroshi"],
    },
    [
        X(
            [
                "Help, I {problem[0]}. I'm working on {branch}.",
                "I think I {problem[0]}. Branch is {branch}. How do I fix this without making it worse?",
            ],
            [
                "Don't panic, this is recoverable. The short version is: {problem[1]}. Before you run anything, tell me whether anyone else has pulled these commits.",
                "Very fixable. Roughly: {problem[1]}. First, though, has anything been pushed and pulled by others? That changes the safe option.",
            ],
        ),
        X(
            "Nobody else has pulled yet. There are {ncommits} commits involved and the latest is {sha}.",
            "Then you can rewrite freely. Make a safety branch first with `git branch backup-{sha}` so those {ncommits} commits are always reachable, then follow the steps. If anything looks wrong, `git reflog` will still show every position HEAD has been in.",
        ),
        X(
            "What exactly does reflog show?",
            "The reflog is a local log of where HEAD and branch tips have pointed, including commits that no branch references anymore. Entries are kept for about 90 days by default, which is why 'lost' commits are usually still recoverable.",
            opt=True,
        ),
        X(
            [
                "{teammate} says I should never use push --force. Is that right?",
                "My teammate {teammate} told me force-pushing is always bad. True?",
            ],
            "{teammate} has a point for shared branches. The safer habit is `git push --force-with-lease`, which refuses to overwrite the remote if someone else pushed in the meantime. On your own feature branch like {branch}, force-with-lease is normal.",
            opt=True,
        ),
        X(
            "Everything's back where it should be. How do I avoid this next time?",
            "Enable branch protection on main so direct pushes are rejected, and consider a pre-commit hook that blocks commits on main locally. Using `git switch -c` as soon as you start a task also helps.",
            opt=True,
        ),
        X(
            "Can you explain rebase vs merge in one paragraph?",
            "Merge combines histories with a merge commit and keeps everything exactly as it happened. Rebase replays your commits on top of another branch, giving a linear history but creating new commit ids. Rebase your own local work; merge shared branches.",
            opt=True,
        ),
    ],
)

# 11. Plumbing -----------------------------------------------------------------
bp(
    "plumbing",
    6,
    ["Leaky {fixture[0]} repair", "Fixing a dripping {fixture[0]} ({brand})", "{brand} {fixture[0]} leak"],
    {
        ("fixture", "brand", "part"): [
            (("kitchen faucet", "cartridge"), "Moen", "1225"),
            (("bathroom sink faucet", "ceramic disc cartridge"), "Delta", "RP46074"),
            (("shower valve", "pressure-balance cartridge"), "Kohler", "GP77005"),
            (("toilet", "flapper"), "American Standard", "7381000-200.0070A"),
            (("kitchen faucet", "cartridge"), "Pfister", "974-041"),
            (("shower valve", "thermostatic cartridge"), "Grohe", "47439000"),
        ],
        "age": [6, 9, 12, 15, 20, 25],
        "drips": [8, 12, 20, 30, 45, 60],
        "quote": [185, 220, 265, 310, 150, 395],
        "plumber": [
            "Dale from Rapid Rooter",
            "a guy named Sergio",
            "Hannigan Plumbing",
            "Ace Pipe & Drain",
            "Bev, my landlord's plumber,",
            "Northside Plumbing",
        ],
    },
    [
        X(
            [
                "Our {brand} {fixture[0]} has started dripping constantly, about {drips} drips a minute. It's around {age} years old.",
                "The {fixture[0]} in our house ({brand}, maybe {age} years old) won't stop dripping. Is this a DIY job?",
            ],
            [
                "Usually yes. On your {brand} {fixture[0]}, at {age} years old, a worn {fixture[1]} is the most likely cause. Replacing it is a 30–60 minute job with basic tools once the water is shut off.",
                "It's very often DIY-friendly. At {age} years old, the {fixture[1]} is probably worn out. With the water off, it's normally a handful of screws and one replacement part.",
            ],
        ),
        X(
            [
                "The hardware store says the part is {part}. Does that sound right?",
                "I found part number {part} online. Is that the one?",
            ],
            "Part {part} may well be right, but models change over the years. Take the old {fixture[1]} with you to the store and compare it side by side; the size, shape and connection points need to match, whatever the number says.",
        ),
        X(
            "How do I shut off the water without turning off the whole house?",
            "Look for small shut-off valves under or behind the fixture and turn them clockwise. If there aren't any, or they're seized, use the main shut-off and then open the fixture to drain the line before you start.",
            opt=True,
        ),
        X(
            [
                "Is it worth fixing a leak of {drips} drips per minute?",
                "How much water is that wasting, roughly?",
            ],
            "At {drips} drips per minute you're losing several gallons a day, easily over a thousand gallons a year in the worse cases. It's cheap to fix, and a constant drip can also stain fixtures and wear out the seat further.",
            opt=True,
        ),
        X(
            "{plumber} quoted ${quote} to do it. Fair price?",
            "${quote} is within the normal range for a service call plus a part in many areas, though it's a lot for a job you could do yourself for the cost of the part. If you're uneasy about seized valves or old pipes, paying a pro is reasonable.",
            opt=True,
        ),
        X(
            "I replaced it and now there's a tiny drip from the base instead. What did I miss?",
            [
                "A leak at the base usually means the O-rings weren't seated or lubricated. Take it apart again, apply plumber's silicone grease to the O-rings, and make sure the retaining clip or nut is fully seated.",
                "Check the O-rings: if they were twisted or dry during reassembly they won't seal. A bit of silicone grease and careful reseating usually solves a base drip.",
            ],
            opt=True,
        ),
        X(
            "Should I replace the whole fixture instead?",
            "If the finish is worn, parts are hard to find or you're remodeling anyway, replacing it makes sense. Otherwise a cartridge or seal swap gives you many more years for a fraction of the price.",
            opt=True,
        ),
    ],
)

# 12. Painting a room ---------------------------------------------------------
bp(
    "painting_room",
    5,
    ["Painting the {room} in {color}", "How much paint for a {dims} {room}?", "{color} paint for the {room}"],
    {
        "color": [
            "Benjamin Moore Hale Navy",
            "Sherwin-Williams Agreeable Gray",
            "Farrow & Ball Setting Plaster",
            "Behr Back to Nature",
            "Valspar Dried Thyme",
            "Benjamin Moore Simply White",
        ],
        ("room", "dh"): [
            ("spare bedroom", (12, 14, 8)),
            ("home office", (10, 11, 8)),
            ("nursery", (11, 13, 9)),
            ("living room", (16, 20, 9)),
            ("hallway", (4, 22, 10)),
            ("dining room", (13, 15, 8)),
        ],
        "dims": calc(lambda s: f"{s['dh'][0]} x {s['dh'][1]} ft"),
        "height": calc(lambda s: s["dh"][2]),
        "gallons": calc(lambda s: -(-(2 * (2 * (s["dh"][0] + s["dh"][1]) * s["dh"][2] - 60)) // 375)),
        "old": [
            "a dark burgundy",
            "builder-grade beige",
            "bright lemon yellow",
            "a glossy teal",
            "scuffed white",
            "a deep charcoal",
        ],
        "deadline": [
            "my parents visit on the 18th",
            "the baby is due in six weeks",
            "we list the house next month",
            "I start working from home on Monday",
            "we're hosting Thanksgiving",
            "the movers come on the 3rd",
        ],
    },
    [
        X(
            [
                "I want to paint our {dims} {room} in {color}. Ceilings are {height} feet. How much paint do I need?",
                "How many gallons of {color} for a {room} that's {dims} with {height}-foot ceilings?",
            ],
            [
                "For a {dims} room with {height}-foot ceilings, two coats will take roughly {gallons} gallons, assuming a door and a couple of windows. Buy one gallon more than you think if the color is custom-mixed, since batches can vary slightly.",
                "Roughly {gallons} gallons for two coats, after subtracting doors and windows. A gallon covers about 350–400 square feet per coat on smooth walls.",
            ],
        ),
        X(
            "The walls are currently {old}. Do I need primer?",
            [
                "Going over {old}, yes, I'd prime first, ideally with a tinted primer that's close to {color}. It saves you a third coat and gives much more even color.",
                "With {old} underneath, a coat of primer is worth it. Ask the store to tint it toward {color}; you'll likely get away with two finish coats.",
            ],
        ),
        X(
            "What finish should I use, eggshell or satin?",
            "For a {room}, eggshell is the usual choice: a slight sheen that's wipeable without highlighting every dent. Use satin or semi-gloss on trim and doors.",
            opt=True,
        ),
        X(
            [
                "My deadline is tight because {deadline}. How long does it all take?",
                "Time is short since {deadline}. Realistic schedule?",
            ],
            "Plan one day for prep and primer and one day for the two finish coats, leaving about 2–4 hours between coats depending on humidity. Wait a few days before pushing furniture against the walls, since paint stays soft for a while even when it's dry to the touch.",
            opt=True,
        ),
        X(
            "Any tips to get clean lines at the ceiling without tape?",
            "Use a good 2–2.5 inch angled sash brush, load only the bottom third, and pull slowly along the line with the brush tip slightly away from the ceiling. If you do use tape, remove it while the last coat is still slightly wet.",
            opt=True,
        ),
        X(
            "The second coat of {color} looks patchy in some spots. Why?",
            "Patchiness usually comes from uneven sheen (called flashing) where you touched up dry areas, or from rolling too thin. Do a full third coat wall by wall, keep a wet edge, and roll in overlapping W patterns.",
            opt=True,
        ),
    ],
)

# 13. Vegetable garden --------------------------------------------------------
bp(
    "veg_garden",
    5,
    ["{crop} problems in zone {zone}", "Raised bed help: {crop}", "{crop}: {symptom[1]}"],
    {
        "crop": [
            "Cherokee Purple tomatoes",
            "San Marzano tomatoes",
            "zucchini",
            "Sungold cherry tomatoes",
            "Japanese eggplant",
            "bush beans",
        ],
        ("city", "zone"): [
            ("Columbus, Ohio", "6a"),
            ("Boise", "7a"),
            ("Richmond, Virginia", "7b"),
            ("Asheville", "7a"),
            ("Austin", "9a"),
            ("Sacramento", "9b"),
        ],
        "symptom": [
            ("have curling leaves", "curling leaves"),
            ("keep dropping their blossoms", "blossom drop"),
            ("have leaves yellowing from the bottom up", "yellow lower leaves"),
            ("flower but never set any fruit", "flowers but no fruit"),
            ("wilt badly every afternoon", "afternoon wilting"),
            ("are getting eaten overnight", "eaten overnight"),
        ],
        "cause": calc(
            lambda s: {
                "curling leaves": "heat stress or inconsistent watering, and less often herbicide drift",
                "blossom drop": "night temperatures outside roughly 55–75°F or poor pollination",
                "yellow lower leaves": "early blight or a nitrogen shortage",
                "flowers but no fruit": "poor pollination or heat; early flowers are often all male, and hand-pollinating with a small brush helps",
                "afternoon wilting": "heat plus shallow roots, or, if they don't recover by evening, a borer or wilt disease",
                "eaten overnight": "slugs, cutworms or, if whole leaves vanish, rabbits or deer",
            }[s["symptom"][1]]
        ),
        "bed": ["4 x 8 ft", "3 x 6 ft", "4 x 4 ft", "4 x 12 ft", "2 x 8 ft", "3 x 10 ft"],
        "sun": [5, 6, 6, 7, 8, 9],
    },
    [
        X(
            [
                "My {crop} {symptom[0]}. I'm in {city}, zone {zone}. What's going on?",
                "Gardening question: the {crop} in my raised bed {symptom[0]}. Zone {zone}, near {city}.",
            ],
            [
                "The most common causes are {cause}. Can you tell me how often you water and whether the problem started after a hot spell or a heavy rain?",
                "That's usually {cause}. A few details would help narrow it down: your watering schedule, the recent weather, and whether other plants in the bed look fine.",
            ],
        ),
        X(
            [
                "I water every evening for a few minutes with a hose. The bed gets about {sun} hours of sun.",
                "Quick evening watering most days, and around {sun} hours of direct sun.",
            ],
            "Short daily watering keeps the roots shallow, which makes plants more sensitive to heat. Switch to a deep soak two or three times a week, ideally in the morning, and add 2–3 inches of mulch (straw or shredded leaves) to keep soil moisture even. {sun} hours of sun is fine for most vegetables.",
        ),
        X(
            "The bed is {bed}. What else could I fit in there next season?",
            "In a {bed} bed you could pair the {crop} with basil and marigolds along the edges, plus a row of lettuce or radishes that you harvest before the main crop shades them out. Leave space for airflow; crowding invites disease.",
            opt=True,
        ),
        X(
            "Should I use fertilizer now?",
            "Only a light feeding. Too much nitrogen gives you big leaves and few fruits. A balanced organic fertilizer or some compost worked into the top inch of soil once a month is plenty for most vegetables mid-season.",
            opt=True,
        ),
        X(
            [
                "When's the last frost date for zone {zone}? I want to plan next spring.",
                "For next year, when can I safely plant out in zone {zone}?",
            ],
            "Zone tells you winter lows rather than frost dates, so check your local extension service for {city}; they publish average last-frost dates. As a rule of thumb, plant warm-season crops out two weeks after the average last frost, once nights stay above about 50°F.",
            opt=True,
        ),
        X(
            "Is it OK to save seeds from this year's plants?",
            "From open-pollinated or heirloom varieties, yes; hybrids (often labeled F1) won't come true from seed. For tomatoes, ferment the seeds in a little water for a couple of days, rinse, dry them thoroughly and store them in a paper envelope.",
            opt=True,
        ),
        X(
            "Some leaves have brown spots with rings. Should I pull the plant?",
            "Ring-patterned spots on lower leaves sound like early blight. You don't need to pull the plant: remove affected leaves, avoid wetting foliage, mulch to stop soil splashing, and rotate where you plant that family next year.",
            opt=True,
        ),
    ],
)

# 14. Houseplants -------------------------------------------------------------
bp(
    "houseplants",
    5,
    [
        "{plant[0]} named {pname} {issue[1]}",
        "Houseplant help: {pname} the {plant[1]}",
        "Saving my {plant[1]}",
    ],
    {
        "plant": [
            ("Monstera deliciosa", "monstera"),
            ("fiddle leaf fig", "fiddle leaf fig"),
            ("pothos", "pothos"),
            ("snake plant", "snake plant"),
            ("calathea", "calathea"),
            ("ZZ plant", "ZZ plant"),
        ],
        "pname": ["Gerald", "Fernando", "Big Leafy Steve", "Agnes", "Princess Fiona", "Sir Reginald"],
        "issue": [
            ("has brown crispy edges on the leaves", "brown crispy edges"),
            ("is dropping leaves", "dropping leaves"),
            ("has yellow, mushy leaves near the soil", "yellow mushy leaves"),
            ("is getting leggy", "getting leggy"),
            ("has tiny webs under the leaves", "webs under leaves"),
            ("hasn't grown in months", "not growing"),
        ],
        "diag": calc(
            lambda s: {
                "brown crispy edges": "low humidity or letting the soil dry out too far, sometimes salt build-up from tap water",
                "dropping leaves": "a sudden change in light or temperature, like a move or a cold draft",
                "yellow mushy leaves": "overwatering and the start of root rot",
                "getting leggy": "not enough light, so it's stretching toward the window",
                "webs under leaves": "spider mites",
                "not growing": "low light or the winter slowdown; it may also be root-bound",
            }[s["issue"][1]]
        ),
        "window": [
            "north-facing window",
            "east-facing window",
            "west window with afternoon sun",
            "spot about eight feet from a south window",
            "bathroom with a frosted window",
            "corner next to a radiator",
        ],
        "age": [
            "two years",
            "eight months",
            "about three years",
            "six years",
            "a year and a half",
            "four months",
        ],
        "giver": [
            "my grandmother",
            "my old roommate Tess",
            "a plant swap at the library",
            "my coworker Ahmed",
            "a grocery store clearance shelf",
            "my sister for my birthday",
        ],
    },
    [
        X(
            [
                "My {plant[0]}, {pname}, {issue[0]}. I've had it for {age}. Help!",
                "{pname} (a {plant[1]} I've had {age}) {issue[0]}. What am I doing wrong?",
            ],
            [
                "That pattern usually points to {diag}. Where does {pname} sit, and how do you decide when to water?",
                "Most often that's {diag}. Tell me about the light and your watering routine and we can narrow it down.",
            ],
        ),
        X(
            [
                "It's in a {window}, and I water every Sunday whether it needs it or not.",
                "{pname} lives in a {window}. I water on a fixed weekly schedule.",
            ],
            "Watering on a schedule is the most common houseplant mistake, since plants use water at different rates through the year. Instead, push a finger two inches into the soil and only water when it's dry at that depth (snake plants and ZZ plants can go drier). Light from a {window} may also need adjusting depending on the species.",
        ),
        X(
            "Should I repot? It came from {giver} and has never been repotted.",
            "Check the roots first: slide it out of the pot. If roots are circling the bottom or poking out of the drainage holes, move up just one pot size (about 2 inches wider) in spring, using a chunky, well-draining mix. Don't repot a stressed plant mid-winter unless there's root rot.",
            opt=True,
        ),
        X(
            "How do I check for root rot?",
            "Healthy roots are firm and white or tan; rotten ones are brown, mushy and smell sour. Trim every rotten root with clean scissors, let the root ball air for an hour, and repot into fresh, dry mix in a pot with drainage.",
            opt=True,
        ),
        X(
            ["Would a grow light help {pname}?", "Is a grow light worth it for this spot?"],
            "Yes, especially in winter. A full-spectrum LED bulb about 12–18 inches above the plant on a timer for 10–12 hours a day makes a noticeable difference. You don't need the purple ones; plain white LEDs labeled for plants work well.",
            opt=True,
        ),
        X(
            "Can I propagate a cutting in case I lose the main plant?",
            "Good insurance. Cut just below a node (the bump where a leaf meets the stem), put it in water in bright indirect light, and change the water weekly. Once the roots are a couple of inches long, pot it up.",
            opt=True,
        ),
    ],
)

# 15. Monthly budget ----------------------------------------------------------
bp(
    "budget",
    5,
    [
        "Monthly budget on ${income:,} take-home",
        "Budget help: saving for {goal[0]}",
        "Making a budget ({city})",
    ],
    {
        "ir": [(3200, 1150), (3850, 1425), (4400, 1600), (5150, 1890), (2900, 980), (6300, 2350)],
        "income": calc(lambda s: s["ir"][0]),
        "rent": calc(lambda s: s["ir"][1]),
        "rent_pct": calc(lambda s: round(100 * s["ir"][1] / s["ir"][0])),
        "city": ["Pittsburgh", "Denver", "Chicago", "San Diego", "Albuquerque", "Boston"],
        "goal": [
            ("an emergency fund", 6000),
            ("a used car", 9500),
            ("a down payment", 30000),
            ("a trip to Japan", 4200),
            ("a new laptop", 1800),
            ("a wedding", 18000),
        ],
        "debt": [
            ("a student loan at 5.5%", 310),
            ("a car loan at 6.9%", 385),
            ("a credit card at 24.99% APR", 150),
            ("a personal loan at 11%", 220),
            ("a medical bill payment plan", 95),
            ("a dental bill payment plan", 75),
        ],
        "food": [420, 510, 600, 380, 700, 650],
        "subs": [64, 87, 112, 45, 138, 73],
        "left": calc(lambda s: s["income"] - s["rent"] - s["debt"][1] - s["food"] - s["subs"] - 350),
        "goal_amt": calc(lambda s: f"{s['goal'][1]:,}"),
        "subs_year": calc(lambda s: f"{s['subs'] * 12:,}"),
        "months": calc(
            lambda s: (lambda m: f"{m} months" if m <= 30 else f"about {round(m / 12)} years")(
                max(1, round(s["goal"][1] / max(1, int(s["left"] * 0.6))))
            )
        ),
    },
    [
        X(
            [
                "I take home ${income:,} a month and rent is ${rent:,} in {city}. Can you help me build a simple budget?",
                "Trying to budget for the first time. Take-home pay ${income:,}/month, rent ${rent:,}, living in {city}.",
            ],
            [
                "Sure. Let's list fixed costs first (rent, utilities, insurance, debt payments), then variable ones like groceries and fun, then savings. With ${income:,} coming in and ${rent:,} for rent, housing is about {rent_pct}% of your income, so the rest needs to stretch across everything else.",
                "Happy to. Start with the non-negotiables (rent, utilities, minimum debt payments, insurance), then groceries and transport, then decide how much goes to savings. Your rent is about {rent_pct}% of take-home, which is a useful number to keep in mind.",
            ],
        ),
        X(
            [
                "Debt-wise I have {debt[0]} with a ${debt[1]} monthly payment. Groceries run about ${food}.",
                "I pay ${debt[1]} a month on {debt[0]}, and I spend maybe ${food} on groceries.",
            ],
            "Thanks. If we also assume around $350 for utilities, phone and transport, plus your subscriptions, you'd have roughly ${left:,} left each month after essentials. That's the pool for savings, fun money and extra debt payments.",
        ),
        X(
            [
                "I'm saving for {goal[0]}, around ${goal_amt}. How long will that take?",
                "My big goal is {goal[0]}, about ${goal_amt}. Realistic timeline?",
            ],
            "If you direct about 60% of that ${left:,} toward it, you'd reach ${goal_amt} in roughly {months}. Automate a transfer on payday into a separate high-yield savings account so you never see the money in checking.",
            opt=True,
        ),
        X(
            "I just checked and my subscriptions add up to ${subs} a month. Is that bad?",
            "${subs} isn't outrageous, but it's ${subs_year} a year. Go through them one by one and cancel anything you haven't used in the past month; you can always resubscribe later.",
            opt=True,
        ),
        X(
            "Should I pay extra on the debt or save first?",
            "Build a small buffer first, even one month of expenses, so a surprise bill doesn't go on a credit card. After that, extra payments on anything above roughly 7–8% interest usually beat saving, while low-interest debt can stay on its normal schedule.",
            opt=True,
        ),
        X(
            "What's a good app or method to track all this?",
            "The best method is the one you'll actually keep up. A simple spreadsheet with one tab per month works well, or YNAB if you like envelope-style budgeting. Review it for ten minutes every Sunday; consistency matters more than the tool.",
            opt=True,
        ),
        X(
            "What about irregular stuff like car registration and gifts?",
            "Make sinking funds: estimate the yearly total of each irregular cost, divide by 12, and set that aside monthly. Then when registration or birthdays come around, the money is already waiting.",
            opt=True,
        ),
    ],
)

# 16. Retirement / taxes ------------------------------------------------------
bp(
    "retirement_taxes",
    5,
    ["{acct} contribution question", "Roth vs traditional at age {age}", "Tax question: {topic[0]}"],
    {
        "acct": ["Roth IRA", "traditional IRA", "401(k)", "HSA", "SEP IRA", "403(b)"],
        "acct_a": calc(lambda s: ("an " if s["acct"] == "HSA" else "a ") + s["acct"]),
        "age": [24, 29, 33, 38, 45, 52],
        "salary": [58000, 72500, 94000, 118000, 46500, 135000],
        "match": [
            "a 50% match up to 6%",
            "a dollar-for-dollar match up to 4%",
            "no match",
            "a 100% match on the first 3% and 50% on the next 2%",
            "a 3% non-elective contribution",
            "a 5% match",
        ],
        "topic": [
            (
                "freelance income and quarterly estimates",
                "set aside 25–30% of freelance income and pay quarterly estimated taxes",
            ),
            (
                "an old 401(k) from a previous job",
                "roll it into an IRA or your new employer's plan with a direct rollover",
            ),
            (
                "selling RSUs",
                "check the cost basis on your 1099-B, because brokers often report RSU basis as zero",
            ),
            ("a backdoor Roth", "watch out for the pro-rata rule if you have other pre-tax IRA balances"),
            ("a home office deduction", "it's only available if you're self-employed, not as a W-2 employee"),
            ("dependent care FSA", "you can set aside up to the annual limit pre-tax for daycare costs"),
        ],
        "side": [3400, 8200, 12750, 21000, 5600, 15300],
        "broker": ["Fidelity", "Vanguard", "Schwab", "Betterment", "Wealthfront", "E*TRADE"],
    },
    [
        X(
            [
                "I'm {age}, making about ${salary:,} a year. Should I put money into {acct_a} or something else first?",
                "Age {age}, salary ${salary:,}. Where should my retirement savings go first?",
            ],
            [
                "A common order is: contribute enough to get any employer match, then build an emergency fund, then max out tax-advantaged accounts like a Roth or traditional IRA, then go back to the workplace plan. What does your employer match look like?",
                "The usual priority list is employer match first (it's an instant return), then high-interest debt, then an IRA, then more in the 401(k). Your specific mix depends on your tax bracket now versus what you expect in retirement.",
            ],
        ),
        X(
            "My employer gives {match}. Does that change anything?",
            "With {match}, make sure you contribute at least enough to collect all of it, since it's free money. Beyond that, at ${salary:,} a Roth is often attractive if you expect your income to rise, while traditional contributions make more sense in a higher bracket today.",
        ),
        X(
            [
                "I also have ${side:,} of side income this year. Question about {topic[0]}.",
                "Separate question: I've got ${side:,} from side work, and I'm confused about {topic[0]}.",
            ],
            "Short version: {topic[1]}. With ${side:,} of extra income, it's worth running numbers with tax software or a CPA, because the right move depends on your full picture. I can walk through the general rules but can't give personalized tax advice.",
            opt=True,
        ),
        X(
            "My accounts are at {broker}. Which funds should I actually pick?",
            "At {broker}, a low-cost total market index fund or a target-date fund is a solid default. Target-date funds rebalance automatically; just check the expense ratio, ideally well under 0.2%.",
            opt=True,
        ),
        X(
            "What's the deadline for IRA contributions for last year?",
            "You can generally make IRA contributions for a tax year up until the federal filing deadline the following April, usually around April 15. When you contribute between January and April, make sure to tell {broker} which year it counts for.",
            ta="According to the IRS, contributions for a tax year can be made up to the filing deadline the following year, not including extensions, which is usually April 15. If you contribute at {broker} between January and April, choose the prior year explicitly.",
            tool="IRS.gov, IRA contribution limits: 'You can make contributions to your Roth IRA for a year at any time during the year or by the due date of your return for that year (not including extensions).'",
            opt=True,
        ),
        X(
            "Is it too late to start at {age}?",
            "Not at all. Starting now still gives your money decades to compound, and catch-up contributions become available at 50. The most important step is simply starting and increasing your rate a little each year, for example 1% with every raise.",
            opt=True,
        ),
    ],
)

# 17. Running -----------------------------------------------------------------
bp(
    "running",
    5,
    ["Training plan for the {race}", "{race}: goal {goal}", "Running: {issue[1]}"],
    {
        ("race", "goal"): [
            ("Chicago Marathon", "sub-4:00"),
            ("Brooklyn Half", "under 1:55"),
            ("Cherry Blossom Ten Miler", "under 1:25"),
            ("Berlin Marathon", "3:45"),
            ("Twin Cities 10K", "under 50 minutes"),
            ("Philadelphia Half Marathon", "sub-1:45"),
            ("Big Sur Marathon", "4:30"),
        ],
        "weeks": [12, 14, 16, 18, 10, 20],
        "mileage": [18, 22, 25, 30, 15, 35],
        "easy": ["10:30", "9:45", "9:15", "11:10", "8:50", "10:05"],
        "issue": [
            ("my left knee aches after long runs", "knee ache"),
            ("shin splints keep coming back", "shin splints"),
            ("a tight right calf", "tight calf"),
            ("side stitches", "side stitches"),
            ("my long runs feel way too hard", "long runs too hard"),
            ("blisters on my arches", "blisters"),
        ],
        "shoe": [
            "Brooks Ghost 16",
            "Hoka Clifton 9",
            "ASICS Novablast 4",
            "Saucony Endorphin Speed 4",
            "New Balance 1080v13",
            "Nike Pegasus 41",
        ],
    },
    [
        X(
            [
                "I signed up for the {race} in {weeks} weeks. My goal is {goal} and I'm currently running about {mileage} miles a week.",
                "Goal: {race}, {goal}. Race is {weeks} weeks away; I'm at roughly {mileage} miles a week right now.",
            ],
            [
                "{weeks} weeks is a workable runway. I'd build mileage by no more than about 10% a week, with one long run, one workout (tempo or intervals) and everything else easy. Every fourth week, cut back about 20% to absorb the training.",
                "That's doable with structure. Keep most runs easy, add one quality session a week, and let the long run grow gradually. From {mileage} miles a week, build slowly and take a lighter week every third or fourth week.",
            ],
        ),
        X(
            [
                "My easy pace is around {easy} per mile. Is that slow enough?",
                "I run my easy days at about {easy}/mile. Should that be slower?",
            ],
            "If you can hold a conversation in full sentences at {easy}, it's probably right. Many runners do easy days too fast, which leaves them tired for the workouts that matter. Heart rate or the talk test is a better guide than pace on easy days.",
        ),
        X(
            ["Lately {issue[0]}. Should I worry?", "Problem: {issue[0]}. Keep running or rest?"],
            "Mild, short-lived discomfort is common when mileage increases, but pain that changes your stride or worsens during a run is a signal to stop. Drop intensity for a few days, check your shoe mileage, and see a physiotherapist if it lasts more than a week or two. I can't diagnose injuries, but that's a sensible plan.",
            opt=True,
        ),
        X(
            "I run in {shoe}s that have about 450 miles on them. Time for new ones?",
            "Probably. Many running shoes lose cushioning somewhere between 300 and 500 miles. If the {shoe} midsole looks creased and your legs feel beat up, replace them, and break in the new pair before race day.",
            opt=True,
        ),
        X(
            "What should I eat during the long runs?",
            "For runs longer than about 75–90 minutes, aim for 30–60 g of carbohydrate per hour from gels, chews or sports drink, starting around 30–45 minutes in. Practice on long runs with exactly what you'll use in the {race}.",
            opt=True,
        ),
        X(
            ["How should I taper before the race?", "What does taper look like for the last weeks?"],
            "Reduce volume by roughly 20–30% in the second-to-last week and about 40–50% in race week, while keeping a little intensity so your legs stay sharp. Sleep and carbs matter more than extra miles at that point.",
            opt=True,
        ),
        X(
            "Any race-day pacing advice for {goal}?",
            "Start a touch slower than goal pace for the first couple of miles; the excitement will pull you out too fast. Settle into goal pace, check in at the halfway point, and only push if you still feel controlled in the final quarter.",
            opt=True,
        ),
    ],
)

# 18. Strength training -------------------------------------------------------
bp(
    "strength",
    5,
    ["Stalled {lift} at {weight} lb", "Gym program: {days} days a week", "Strength plan for {who}"],
    {
        ("lift", "weight"): [
            ("bench press", 185),
            ("squat", 225),
            ("deadlift", 275),
            ("overhead press", 95),
            ("Romanian deadlift", 205),
            ("front squat", 155),
        ],
        "days": [2, 3, 3, 4, 4, 5],
        "who": [
            "a busy parent",
            "a beginner over 40",
            "a climber",
            "a soccer player",
            "getting back after a back tweak",
            "a night-shift nurse",
        ],
        "gym": [
            "a Planet Fitness",
            "my garage with a squat rack",
            "the YMCA",
            "my apartment gym",
            "a CrossFit box",
            "my university rec center",
        ],
        "bw": [150, 172, 185, 205, 128, 220],
        "protein": calc(lambda s: round(s["bw"] / 2.2046 * 1.6)),
        "protein_hi": calc(lambda s: round(s["bw"] / 2.2046 * 2.2)),
    },
    [
        X(
            [
                "My {lift} has been stuck at {weight} lb for two months. What should I change?",
                "I've plateaued on {lift} at {weight} pounds. Ideas?",
            ],
            [
                "A two-month stall usually means the program needs a change in rep ranges or volume, or recovery isn't keeping up. How often are you training it, and how are sleep and food?",
                "Plateaus at {weight} lb are common. Before changing everything, check recovery: sleep, protein, and whether you're doing the same sets and reps every session.",
            ],
        ),
        X(
            [
                "I train {days} days a week at {gym}, usually 3 sets of 5 every session.",
                "{days} days a week at {gym}. Always the same 3x5.",
            ],
            "Doing 3x5 at the same weight every time stops working eventually. Try alternating a heavy day (3x5) with a volume day (4x8 at about 80% of that weight), or add small plates to progress by 2.5 lb instead of 5. Taking a lighter week every 4–6 weeks helps too.",
        ),
        X(
            "I weigh {bw} lb. How much protein should I be eating?",
            "A common evidence-based range for strength training is 1.6–2.2 g per kg of bodyweight per day. At {bw} lb that's roughly {protein}–{protein_hi} g a day, spread over three or four meals.",
            opt=True,
        ),
        X(
            ["What accessory exercises would help the {lift}?", "Accessories to break through on {lift}?"],
            "Pick one or two that hit the weak point: paused reps to build strength out of the bottom, a close variation at higher reps for the primary muscles, and upper-back work like rows, which helps almost every lift. Keep accessories to 2–3 sets of 8–12.",
            opt=True,
        ),
        X(
            "I've read about RPE. Should I be using it?",
            "RPE (rate of perceived exertion) lets you adjust to how you feel each day: RPE 8 means you could have done about two more reps. It's useful once you can judge effort accurately, and it prevents grinding heavy sets on bad days.",
            opt=True,
        ),
        X(
            "Can you lay out a simple {days}-day week for me?",
            "Sure. Day 1: {lift} heavy plus rows and core. Day 2: a different main lift plus pull-ups and single-leg work. Day 3: {lift} volume plus accessories. Any remaining days can be lighter full-body or conditioning. Keep sessions under an hour so they fit your schedule.",
            opt=True,
        ),
    ],
)

# 19. Dog ----------------------------------------------------------------------
bp(
    "dog",
    6,
    ["{dog} the {breed}: {issue[1]}", "Dog question about {dog}", "Help with {dog} ({breed}, {dage})"],
    {
        "dog": ["Biscuit", "Pepper", "Waffles", "Juniper", "Otis", "Mochi", "Banjo"],
        "owner": ["my", "my parents'", "my roommate's", "our foster", "my", "my"],
        "owner_cap": calc(lambda s: s["owner"][0].upper() + s["owner"][1:]),
        ("breed", "weight"): [
            ("beagle", 27),
            ("border collie mix", 41),
            ("golden retriever", 68),
            ("dachshund", 11),
            ("greyhound", 64),
            ("Shiba Inu", 22),
        ],
        "dage": ["4 years old", "8 months old", "11 years old", "2 years old", "6 years old", "13 weeks old"],
        "issue": [
            ("keeps scratching his ears and shaking his head", "ear scratching"),
            ("pulls so hard on the leash that walks are miserable", "leash pulling"),
            ("barks at every delivery driver", "barking at deliveries"),
            ("gets sick in the car every time", "car sickness"),
            ("won't stop chewing the baseboards", "chewing"),
            ("is scared of thunderstorms", "storm anxiety"),
        ],
        "advice": calc(
            lambda s: {
                "ear scratching": "an ear infection or allergies are the usual suspects, and that needs a vet to look inside the ear",
                "leash pulling": "stop moving the moment the leash goes tight and reward him heavily for walking next to you",
                "barking at deliveries": "teach a 'go to your mat' cue and reward calm behavior when the doorbell rings, starting with recordings at low volume",
                "car sickness": "short, positive car trips on an empty stomach help, and your vet can prescribe anti-nausea medication like maropitant",
                "chewing": "he needs more appropriate things to chew and more mental exercise, plus bitter spray on the baseboards",
                "storm anxiety": "create a safe den, use white noise, and ask your vet about anti-anxiety medication for storm season",
            }[s["issue"][1]]
        ),
        "vet": [
            "Dr. Okafor at Maple Street Animal Hospital",
            "Dr. Lindqvist",
            "Dr. Ramos at Riverbend Vet",
            "Dr. Chen at Paws & Claws Clinic",
            "Dr. Whitfield",
            "Dr. Abernathy at Cedar Hill Veterinary",
        ],
        "food": [
            "Purina Pro Plan",
            "Hill's Science Diet",
            "Royal Canin",
            "Orijen",
            "The Farmer's Dog",
            "Blue Buffalo",
        ],
    },
    [
        X(
            [
                "{owner_cap} dog {dog}, a {dage} {breed}, {issue[0]}. What should we do?",
                "Dog question: {dog} ({breed}, {dage}) {issue[0]}. Any advice?",
            ],
            [
                "Here's my take: {advice}. How long has it been going on, and has anything changed recently, like food, routine or a move?",
                "In short, {advice}. Has it started recently or has {dog} always done this?",
            ],
        ),
        X(
            [
                "It's been about three weeks. He weighs {weight} lb and eats {food}.",
                "Maybe three weeks now. {dog} is {weight} pounds and on {food}.",
            ],
            "Three weeks is long enough that it's worth a proper look rather than waiting. {food} is a reasonable diet, so I wouldn't change food and behavior plans at the same time; change one thing at a time so you can tell what helped.",
        ),
        X(
            "Our vet is {vet}. What should I ask at the appointment?",
            "Ask {vet} whether there's a medical cause to rule out first, what the treatment plan and timeline are, and what signs would mean you should come back sooner. Bring a short video of the behavior if you can; dogs rarely perform on cue in the exam room.",
            opt=True,
        ),
        X(
            [
                "How much exercise does a {breed} need at that age?",
                "Is he getting enough exercise? Two 20-minute walks a day.",
            ],
            "It depends on the individual, but a {breed} usually needs more than two short walks, especially a young one. Add sniff-heavy walks, puzzle feeders and a few five-minute training sessions; mental work tires dogs out surprisingly well.",
            opt=True,
        ),
        X(
            "Is {weight} lb a healthy weight for him?",
            "The body condition score is more useful than the number: you should be able to feel his ribs easily under a thin layer of fat and see a waist from above. Ask the vet to score him at the next visit and adjust portions by about 10% if needed.",
            opt=True,
        ),
        X(
            "We're going away for a week. Boarding or a sitter for {dog}?",
            "For {dog}, an in-home sitter is often less stressful because his routine stays the same. If you board, pick a place that allows a trial overnight stay first and send his usual {food}.",
            opt=True,
        ),
        X(
            "Any good enrichment toys you'd recommend?",
            "A stuffed Kong (frozen with wet food), a snuffle mat and a lick mat are cheap and effective. Rotate toys so they stay interesting, and always supervise with anything he could chew into pieces.",
            opt=True,
        ),
    ],
)

# 20. Cat ----------------------------------------------------------------------
bp(
    "cat",
    5,
    ["{cat} {issue[1]}", "Cat help: {cat} the {breed}", "Why does {cat} {issue[2]}?"],
    {
        "cat": ["Noodle", "Clementine", "Mr. Whiskerton", "Pixel", "Tofu", "Marzipan"],
        "breed": ["tabby", "Maine Coon", "Siamese", "tuxedo cat", "ragdoll", "calico"],
        "cage": ["3-year-old", "12-year-old", "9-month-old", "7-year-old", "15-year-old", "5-year-old"],
        "issue": [
            ("has started peeing outside the litter box", "peeing outside the box", "pee outside the box"),
            ("wakes us up at 4 a.m. yowling for food", "4 a.m. yowling", "yowl at 4 a.m."),
            ("scratches the new couch no matter what we do", "scratching the couch", "scratch the couch"),
            ("has been drinking a lot more water than usual", "drinking more water", "drink so much water"),
            ("vomits hairballs a few times a week", "frequent hairballs", "throw up so often"),
            ("hisses at our new kitten", "hissing at the kitten", "hiss at the new kitten"),
        ],
        "litter": [
            "Dr. Elsey's Ultra",
            "World's Best Cat Litter",
            "Fresh Step",
            "Arm & Hammer Slide",
            "pine pellets",
            "Tidy Cats",
        ],
        "food": [
            "Fancy Feast pâté",
            "Hill's Science Diet dry",
            "Royal Canin Indoor",
            "Purina ONE",
            "Smalls fresh food",
            "Tiki Cat",
        ],
        "kitten": ["Sprout", "Gnocchi", "Ziggy", "Button", "Olive", "Kiwi"],
    },
    [
        X(
            [
                "Our {cage} {breed}, {cat}, {issue[0]}. What could be going on?",
                "{cat} (our {cage} {breed}) {issue[0]}. Should I be worried?",
            ],
            [
                "A few things can cause that, and some are medical, so it's worth ruling those out first. Has anything changed at home recently: new furniture, a move, a new pet, a different litter or food?",
                "It could be behavioral or medical, and with cats it's smart to rule out the medical side first. Any recent changes in the household?",
            ],
        ),
        X(
            [
                "We switched to {litter} last month and feed him {food}.",
                "We did switch to {litter} recently. Food is still {food}.",
            ],
            "Cats can be very particular about litter, so the switch to {litter} may matter, especially if the behavior started around the same time. Try offering a second box with the old litter side by side and see which one {cat} picks.",
        ),
        X(
            ["Should a vet look at this? He's a {cage} cat.", "Could this be medical? He's a {cage} cat."],
            "Yes, I'd book a visit. Changes like this in cats are sometimes linked to urinary problems, kidney disease, diabetes or hyperthyroidism, so a check-up with blood work and a urine test is the right call. I can't diagnose, but I wouldn't wait on it.",
            opt=True,
        ),
        X(
            "We also just adopted a kitten named {kitten}. How should we introduce them properly?",
            "Slowly. Keep {kitten} in a separate room for the first week, swap bedding so they get used to each other's scent, then feed them on either side of a closed door. Move to supervised visits through a baby gate before letting them share space.",
            opt=True,
        ),
        X(
            ["How many litter boxes should we have?", "Is one litter box enough?"],
            "The usual rule is one box per cat plus one, placed in different quiet spots. Scoop daily and fully change the litter every couple of weeks; many box problems come down to cleanliness or location.",
            opt=True,
        ),
        X(
            "Unrelated, but {cat} also wakes us at 4 a.m. demanding breakfast. Any tips?",
            "Don't reward them, since getting up to feed teaches {cat} that yowling works. An automatic feeder set for a little before your alarm moves the 'breakfast is coming' signal away from you, and a play session before bed helps too.",
            opt=True,
        ),
    ],
)

# 21. Car maintenance -----------------------------------------------------------
bp(
    "car_maintenance",
    6,
    [
        "{car} check engine light {code}",
        "{car}: is the {quote} quote fair?",
        "Car trouble: {code} on the {car}",
    ],
    {
        "car": [
            "2014 Honda Civic",
            "2017 Subaru Outback",
            "2011 Toyota Camry",
            "2019 Ford F-150",
            "2016 Mazda CX-5",
            "2012 VW Jetta 2.5",
            "2018 Hyundai Elantra",
        ],
        "miles": ["98,400", "134,000", "187,250", "61,900", "112,600", "156,300"],
        "code": ["P0420", "P0301", "P0171", "P0455", "P0128", "P0700"],
        "meaning": calc(
            lambda s: {
                "P0420": "catalyst system efficiency below threshold, which can mean a failing catalytic converter but is sometimes just a faulty O2 sensor",
                "P0301": "a misfire in cylinder 1, often a spark plug, ignition coil or injector",
                "P0171": "the engine is running lean on bank 1, commonly a vacuum leak or a dirty mass airflow sensor",
                "P0455": "a large EVAP system leak, very often just a loose or cracked gas cap",
                "P0128": "coolant temperature below thermostat regulating temperature, usually a thermostat stuck open",
                "P0700": "the transmission control module has stored a fault, so it needs a scan tool that reads transmission codes",
            }[s["code"]]
        ),
        "quote": ["$1,850", "$640", "$2,300", "$410", "$975", "$1,280"],
        "shop": [
            "Mike's Auto on 5th",
            "the dealership",
            "Jiffy Lube",
            "a shop called Precision Tune",
            "Gomez Garage",
            "Firestone",
        ],
        "oil": ["0W-20", "5W-30", "0W-16", "5W-20", "5W-40", "0W-20"],
    },
    [
        X(
            [
                "My {car} has {miles} miles and the check engine light came on. The scanner says {code}.",
                "Check engine light on my {car} ({miles} miles). Code {code}. How worried should I be?",
            ],
            [
                "{code} means {meaning}. Is the light steady or flashing, and does the car drive any differently?",
                "Code {code} indicates {meaning}. A steady light is usually not an emergency; a flashing light means stop driving soon to avoid damage.",
            ],
        ),
        X(
            [
                "It's steady and the car drives fine as far as I can tell.",
                "Steady light, no weird noises or shaking.",
            ],
            "Good, that gives you time to diagnose it properly rather than replacing parts at random. Clear the code once and see if it comes back within a few drive cycles; some causes, like a loose gas cap, fix themselves.",
        ),
        X(
            [
                "{shop} quoted {quote} to fix it. Does that sound right?",
                "Got a quote from {shop}: {quote}. Reasonable?",
            ],
            "Whether {quote} is fair depends on what they plan to replace. Ask for an itemized estimate with part numbers and labor hours, and ask what test confirmed the diagnosis. For a bigger bill, getting a second opinion from an independent shop is completely normal.",
            opt=True,
        ),
        X(
            "While it's in the shop, what other maintenance is due around {miles} miles?",
            "Around {miles} miles on a {car}, check the owner's manual schedule, but typical items are spark plugs, coolant, brake fluid, transmission fluid, cabin and engine air filters, and an inspection of belts and hoses. Ask the shop to show you anything they recommend replacing.",
            opt=True,
        ),
        X(
            "What oil should I be using? The last shop put in 5W-30.",
            "Use what the manual specifies, which for many engines like yours is {oil}. A slightly different viscosity for one oil change won't hurt, but go back to {oil} next time, and check the level every few fill-ups on an older engine.",
            ta="The owner's manual for the {car} calls for SAE {oil}. One oil change with 5W-30 won't hurt, but go back to {oil} next time, and check the level every few fill-ups on an engine with {miles} miles.",
            tool="Owner's manual excerpt, {car}: Engine oil: use SAE {oil} meeting API SP / ILSAC GF-6 or later. Check the level at every fuel stop or at least monthly. Change interval: follow the maintenance minder or every 5,000–7,500 miles under severe conditions.",
            opt=True,
        ),
        X(
            [
                "Is it worth putting this money into a car with {miles} miles?",
                "At what point should I just replace the car?",
            ],
            "A rough rule: if a repair costs less than a few months of car payments and the body and transmission are sound, fixing is usually cheaper than replacing. Add up what you've spent in the last 12 months and compare it with the cost of a replacement car, including insurance.",
            opt=True,
        ),
        X(
            "Can I pass emissions inspection with this code?",
            "Generally no. Most inspection programs fail a car with the check engine light on or with readiness monitors incomplete. Fix it, then drive normally for a few days so the monitors reset before you go in.",
            opt=True,
        ),
    ],
)

# 22. Bike repair --------------------------------------------------------------
bp(
    "bike_repair",
    5,
    ["{bike} {problem[1]}", "Bike maintenance: {bike}", "Fixing {problem[1]} on my bike"],
    {
        ("bike", "tire", "psi"): [
            ("Trek FX 3", "700x35c", 60),
            ("Specialized Allez", "700x28c", 80),
            ("Surly Long Haul Trucker", "26x2.1", 45),
            ("Cannondale Quick 4", "700x35c", 55),
            ("Brompton C Line", "16x1.35", 100),
            ("Giant Escape 2", "700x38c", 50),
        ],
        "problem": [
            ("the chain skips under load when I climb", "chain skipping"),
            ("the rear brake squeals like crazy", "squealing brakes"),
            ("I get a flat every week on my commute", "constant flats"),
            ("the gears won't shift into the largest cog", "won't shift to big cog"),
            ("there's a clicking noise every pedal stroke", "clicking noise"),
            ("the front wheel wobbles side to side", "wobbly wheel"),
        ],
        "fix": calc(
            lambda s: {
                "chain skipping": "a worn chain or cassette, or cable tension that's slightly off",
                "squealing brakes": "contaminated pads or rotors, or pads that need toeing in",
                "constant flats": "something stuck in the tire, a rim strip problem, or tires that are simply worn thin",
                "won't shift to big cog": "low cable tension or a limit screw set too tight",
                "clicking noise": "pedals, a dry chain, or loose crank bolts",
                "wobbly wheel": "a wheel that's out of true, possibly with a loose spoke",
            }[s["problem"][1]]
        ),
        "commute": [4, 6, 8, 11, 13, 17],
    },
    [
        X(
            [
                "On my {bike}, {problem[0]}. How do I fix it?",
                "Bike issue: {problem[0]}. It's a {bike}. DIY-able?",
            ],
            [
                "Usually that's {fix}. Most of this is doable at home with a few basic tools. How many miles are on the bike, and when was it last serviced?",
                "The common causes are {fix}. Before buying parts, let's check the simple things first.",
            ],
        ),
        X(
            "I ride {commute} miles each way to work, and it hasn't had a tune-up in over a year.",
            "At {commute} miles each way you're putting on a lot of miles, so wear parts go faster than people expect. A chain checker tool costs about $10 and tells you in seconds whether the chain is stretched; replacing a chain early saves the cassette.",
        ),
        X(
            ["Tires are {tire}. What pressure should I run?", "What PSI is right for {tire} tires?"],
            "Check the range printed on the sidewall. For {tire} tires, something around {psi} psi is a reasonable starting point, adjusted for your weight and the road surface. Underinflation is a major cause of pinch flats.",
            opt=True,
        ),
        X(
            "How often should I clean and lube the chain?",
            "Wipe it down and re-lube every 100–200 miles, or after any wet ride. Apply one drop per roller, spin the cranks, then wipe off the excess; a chain that looks wet on the outside just collects grit.",
            opt=True,
        ),
        X(
            "What basic tools should I buy?",
            "A floor pump with a gauge, tire levers, a multi-tool with hex keys, a chain checker, a spare tube and a patch kit cover most roadside and home jobs. Add a torque wrench if you have carbon parts.",
            opt=True,
        ),
        X(
            "If I take it to a shop, what would a full tune-up cost?",
            "It varies a lot by region, but basic tune-ups are often in the $80–$150 range before parts. Ask what's included (usually shifting and brake adjustment, wheel truing and a safety check) and get a quote for parts before they start.",
            opt=True,
        ),
    ],
)

# 23. Job search / cover letter --------------------------------------------------
bp(
    "job_search",
    6,
    ["Cover letter for {company} {role}", "Applying to {company}", "Job search: {role} roles"],
    {
        "company": [
            "Northwind Analytics",
            "Brightline Health",
            "Copperleaf Games",
            "Halcyon Robotics",
            "Tidewater Credit Union",
            "Fernhill Publishing",
            "Quillon Logistics",
        ],
        "role": [
            "Data Analyst",
            "Product Designer",
            "Backend Engineer",
            "Marketing Coordinator",
            "Project Manager",
            "UX Researcher",
        ],
        "years": [2, 3, 4, 6, 8, 1],
        "prev": [
            "a regional grocery chain",
            "a nonprofit food bank",
            "a two-person startup",
            "the city library system",
            "a hospital billing department",
            "a call center",
        ],
        "win": [
            "cut monthly reporting time from three days to four hours",
            "grew newsletter signups by 40%",
            "led the migration of 1.2 million customer records",
            "redesigned the onboarding flow used by 30,000 members",
            "managed a $250,000 vendor contract",
            "built a dashboard the CFO checks every morning",
        ],
        "recruiter": [
            "Danielle Ortiz",
            "Samuel Achterberg",
            "Mei-Ling Park",
            "Tomasz Nowak",
            "Grace Adeyemi",
            "Owen Fitzgerald",
        ],
        "ref": pat("REQ-#####"),
    },
    [
        X(
            [
                "I'm applying for the {role} position at {company} (job ID {ref}). Can you help me with a cover letter?",
                "Need a cover letter for {company}, {role} role, requisition {ref}. Where do I start?",
            ],
            [
                "Of course. A strong cover letter is short: one paragraph on why {company} specifically, one or two on a concrete accomplishment that matches the role, and a brief close. Tell me about your background and one achievement you're proud of.",
                "Sure. Let's keep it to three or four short paragraphs. What's your current role, and what's the best example of your work that relates to a {role} job?",
            ],
        ),
        X(
            [
                "I've spent {years} years at {prev}. My best accomplishment: I {win}.",
                "Background: {years} years working at {prev}. Biggest win was that I {win}.",
            ],
            "That's a great anchor. Lead with the result, then the how: 'At {prev}, I {win} by ...' Specific numbers make recruiters stop skimming. Then connect it to a problem {company} likely has, based on the job posting.",
        ),
        X(
            "Can you write a draft opening paragraph?",
            [
                "Here's a start: 'When I saw that {company} is hiring a {role}, I was excited because ... In my {years} years at {prev}, I {win}, and I'd love to bring that same focus to your team.' Fill in the blank with something genuine about the company, such as a product, a value or a recent project.",
                "Draft: 'I'm applying for the {role} role ({ref}) because ... At {prev} I {win}, and I'm looking for a team where that kind of work matters.' Replace the ellipsis with one specific reason you want to work at {company}.",
            ],
            opt=True,
        ),
        X(
            "The recruiter is {recruiter}. Should I address the letter to them?",
            "Yes, 'Dear {recruiter}' beats 'To whom it may concern'. If you're not sure they're the hiring manager, that's still fine, since recruiters read these first.",
            opt=True,
        ),
        X(
            "Should I mention that I'm switching from {prev} to a different industry?",
            "Briefly, and framed positively. One sentence about why the switch makes sense, pointing to transferable skills like the fact that you {win}, is enough. Don't apologize for it.",
            opt=True,
        ),
        X(
            [
                "It's been two weeks since I applied and nothing. Should I follow up?",
                "How do I follow up without being annoying?",
            ],
            "A single polite follow-up after 7–10 business days is normal. Send {recruiter} a short note: that you applied for {ref}, one line on your fit, and that you're happy to share more. If you hear nothing after that, move on and keep applying.",
            opt=True,
        ),
        X(
            "Can you tighten my resume summary too?",
            "Sure. Aim for two lines: your role and years of experience, then your strongest measurable result. For example: '{role} with {years} years of experience; {win}.' Cut adjectives like 'passionate' and let the numbers speak.",
            opt=True,
        ),
    ],
)

# 24. Interview prep -------------------------------------------------------------
bp(
    "interview_prep",
    5,
    ["Interview prep: {company} {stage}", "{stage} interview on {day}", "Preparing for {company} interview"],
    {
        "company": [
            "Lumen Ridge Software",
            "Oakhaven Bank",
            "Pinecrest Medical Devices",
            "Stellar Freight",
            "Bluefin Energy",
            "Marigold Learning",
            "Cobalt Insurance",
        ],
        "stage": ["phone screen", "system design", "panel", "final round", "take-home review", "behavioral"],
        "day": [
            "Tuesday the 14th",
            "Thursday at 10:30",
            "next Monday at 2 pm",
            "Friday morning",
            "March 3rd",
            "Wednesday at 4:15",
        ],
        "interviewer": [
            "Ravi Menon",
            "Clara Hoffmann",
            "Jamal Brooks",
            "Sofia Castellanos",
            "Liam O'Connell",
            "Anika Sørensen",
        ],
        "weak": [
            "I tend to freeze on salary questions",
            "I ramble when I'm nervous",
            "I have a 14-month employment gap",
            "I was laid off in March",
            "I've never done a system design round",
            "my last project was cancelled",
        ],
        "story": [
            "the time I caught a billing bug that would have overcharged 3,000 customers",
            "leading a team of four through a rushed product launch",
            "convincing my manager to drop a feature nobody used",
            "handling an angry client whose shipment was lost",
            "mentoring two interns who both got hired",
            "recovering a database after a failed migration",
        ],
    },
    [
        X(
            [
                "I have a {stage} interview with {company} on {day}. How should I prepare?",
                "{company} invited me to a {stage} interview, scheduled {day}. Help me prep?",
            ],
            [
                "Congrats! For a {stage} interview, research the team and product, prepare four or five STAR stories (situation, task, action, result), and have two or three thoughtful questions ready for them. Do you know who you'll be talking to?",
                "Nice work getting this far. Let's cover three things: your stories, the likely questions for a {stage} round, and your questions for them. Who's interviewing you?",
            ],
        ),
        X(
            "It's with {interviewer}, who'd be my manager.",
            "Look {interviewer} up on LinkedIn to see their background and what their team has shipped recently; it'll help you tailor examples. Hiring managers usually care most about how you handle ambiguity, prioritize and work with others.",
        ),
        X(
            [
                "My go-to story is {story}. Is that a good one?",
                "I was going to talk about {story}. Does that work as a STAR example?",
            ],
            "That's a strong story because it has clear stakes and an outcome. Structure it tightly: 20 seconds of context, most of the time on what you specifically did, and finish with a concrete result and what you learned. Practice saying it out loud in under two minutes.",
            opt=True,
        ),
        X(
            ["My worry is that {weak}. How do I handle that?", "Honestly, {weak}. Any advice?"],
            "Prepare one calm, honest sentence and then pivot to something forward-looking. Interviewers mostly want to see self-awareness and that it won't be a problem in the role. Rehearse it until it feels boring to say.",
            opt=True,
        ),
        X(
            "What questions should I ask {interviewer} at the end?",
            "Good ones: 'What would success look like in the first 90 days?', 'What's the biggest challenge the team is facing this year?', and 'How do you like to give feedback?' Avoid questions about salary or vacation in a first conversation with the manager.",
            opt=True,
        ),
        X(
            "Can we do a quick mock question?",
            "Sure. Here's a common one: 'Tell me about a time you disagreed with a decision at work.' Answer as if I were {interviewer}, and I'll give you feedback on structure and clarity.",
            opt=True,
        ),
        X(
            "Should I send a thank-you email afterwards?",
            "Yes, within 24 hours. Keep it to three or four sentences: thank {interviewer}, mention one specific thing you discussed, and restate your interest in the role at {company}.",
            opt=True,
        ),
    ],
)

# 25. Offer comparison / negotiation ----------------------------------------------
bp(
    "offer_negotiation",
    5,
    [
        "Comparing offers: {a[0]} vs {b[0]}",
        "Negotiating the {a[0]} offer",
        "Job offer ${a[1]:,} vs ${b[1]:,}",
    ],
    {
        "a": [
            ("Veridian Labs", 128000),
            ("Harbor & Finch", 94000),
            ("Kestrel AI", 152000),
            ("Solace Health", 81500),
            ("Ironbark Systems", 110000),
            ("Glasswing Media", 72000),
        ],
        "b": [
            ("Cedarline Partners", 119000),
            ("Moonrise Studios", 101000),
            ("Atlas Civic Tech", 139000),
            ("Riverstone Group", 88000),
            ("Nimbus Payments", 116500),
            ("Orchard Street Bank", 76500),
        ],
        "equity": [
            "4,000 RSUs over four years",
            "0.08% in options",
            "no equity",
            "a $15,000 sign-on bonus",
            "a 10% annual bonus target",
            "an 8,500-share option grant",
        ],
        "remote": [
            "fully remote",
            "three days in office",
            "hybrid, two days a week",
            "in-office five days",
            "remote with quarterly travel",
            "four-day work week",
        ],
        "deadline": [
            "Friday",
            "end of day Wednesday",
            "the 28th",
            "Monday noon",
            "next Thursday",
            "the end of the month",
        ],
        "ask": [8, 10, 12, 7, 6, 9],
        "target": calc(lambda s: round(s["a"][1] * (1 + s["ask"] / 100) / 1000) * 1000),
    },
    [
        X(
            [
                "I have two offers: {a[0]} at ${a[1]:,} and {b[0]} at ${b[1]:,}. Help me think it through?",
                "Two job offers! {a[0]} is ${a[1]:,} base, {b[0]} is ${b[1]:,}. How do I decide?",
            ],
            [
                "Congratulations! Compare total compensation, not just base: bonus, equity, retirement match, health premiums and PTO. Then weigh the non-money factors: the manager, growth, commute and stability. What else comes with each offer?",
                "Great problem to have. Let's list everything that differs: base, bonus, equity, benefits, work arrangement and the team. Base salary is often not the deciding factor.",
            ],
        ),
        X(
            "{a[0]} includes {equity} and is {remote}. The other is more traditional.",
            "Value equity and bonuses conservatively, especially at a private company; treat options as a lottery ticket unless there's a clear path to liquidity. Being {remote} also has real financial value if it saves commuting costs and time, so put a number on that too.",
        ),
        X(
            [
                "I want to negotiate the {a[0]} offer. Is asking for {ask}% more reasonable?",
                "Can I ask {a[0]} for about {ask}% more without them pulling the offer?",
            ],
            "Asking for {ask}% is reasonable, especially with a competing offer, and rescinded offers after a polite negotiation are rare. Be specific, be enthusiastic and give a reason: 'I'm excited about the role; with my other offer in mind, would you be able to get closer to X?'",
            opt=True,
        ),
        X(
            "Can you draft the negotiation email?",
            "Here's a draft: 'Thank you again for the offer; I'm very excited about joining {a[0]}. I've received another competitive offer, and I'd love to make this work. Is there flexibility to bring the base to ${target:,}? If so, I'm ready to sign.' Only say 'ready to sign' if you truly are.",
            opt=True,
        ),
        X(
            "They need an answer by {deadline}. Can I ask for more time?",
            "Yes. Asking for a few extra days to make a careful decision is normal. Say when you'll reply, and keep that promise. If the deadline is firm, prioritize getting both companies' final numbers before {deadline}.",
            opt=True,
        ),
        X(
            "If they say no to more base, what else can I ask for?",
            "Sign-on bonus, an earlier compensation review (say at six months), extra PTO, a learning budget, a better title or remote flexibility. Companies often have more room on one-time items than on base salary.",
            opt=True,
        ),
    ],
)

# 26. Language learning ----------------------------------------------------------
bp(
    "language_learning",
    6,
    ["Studying for {exam}", "Learning {lang}: {problem[1]}", "{lang} practice plan"],
    {
        ("lang", "exam", "tutor", "why"): [
            ("Portuguese", "CELPE-Bras", "Beatriz", "my partner's family lives in Porto"),
            ("Japanese", "JLPT N3", "Watanabe-sensei", "I'm moving to Osaka for work"),
            ("German", "Goethe B1", "Frau Keller", "my grandmother was from Hamburg"),
            ("Korean", "TOPIK II", "Ji-woo", "I want to watch K-dramas without subtitles"),
            ("Italian", "CILS B2", "Signora Ferrante", "we're honeymooning in Sicily next year"),
            ("Spanish", "DELE B2", "Diego", "my new job has a Madrid office"),
        ],
        "streak": [87, 143, 212, 365, 48, 501],
        "problem": [
            ("I freeze whenever I try to speak", "speaking freeze"),
            ("native-speed listening is impossible for me", "listening"),
            ("I keep forgetting vocabulary", "vocab retention"),
            ("grammar tables just don't stick", "grammar"),
            ("I've plateaued after about a year", "plateau"),
            ("I only have 20 minutes a day", "no time"),
        ],
        "show": [
            "the podcast Coffee Break",
            "Easy Languages videos",
            "a cooking competition show",
            "a kids' cartoon",
            "news in slow speech",
            "a detective series on Netflix",
        ],
        "hrs": [3, 4, 5, 6, 7, 8],
    },
    [
        X(
            [
                "I'm learning {lang} because {why}. My Duolingo streak is at {streak} days, but {problem[0]}.",
                "{lang} learner here ({streak}-day streak). Reason: {why}. Problem: {problem[0]}.",
            ],
            [
                "A {streak}-day streak shows you've got the habit, which is the hardest part. Apps are great for exposure but rarely enough on their own, so let's add activities that target your specific problem. How much time per week can you realistically give it?",
                "That's a really common spot to be in. Duolingo builds recognition, but production and listening need different practice. How many hours a week do you have?",
            ],
        ),
        X(
            [
                "Maybe {hrs} hours a week. I also have online lessons with my tutor, {tutor}.",
                "About {hrs} hours weekly, including one session with {tutor}.",
            ],
            "Then I'd split those {hrs} hours roughly like this: the session with {tutor} focused almost entirely on speaking, about 40% on listening to real content, and 20 minutes a day of spaced-repetition vocabulary (Anki or similar). Keep Duolingo as a warm-up rather than the main course.",
        ),
        X(
            [
                "I'm planning to take the {exam}. How should I prepare?",
                "Goal is passing the {exam}. Realistic?",
            ],
            "For the {exam}, get the official sample papers early and do one timed section per week so the format isn't a surprise. Track which section costs you the most points and spend extra time there. Let {tutor} know so they can run a few mock oral exams.",
            ta="I checked the official {exam} information: registration typically closes several weeks before the test date and results take roughly two months, so register early. Get the official sample papers, do one timed section per week, and ask {tutor} to run a few mock oral exams.",
            tool="Official {exam} candidate information: registration closes approximately six weeks before the exam date; sample papers for all sections are available for download; results are published about 8–10 weeks after the exam.",
            opt=True,
        ),
        X(
            "I've been watching {show} for listening practice. Is that useful?",
            "Yes, as long as it's slightly above your level. Watch a short segment with target-language subtitles, then again without, and shadow a few lines out loud. Repeating the same episode is more useful than constantly moving on to new ones.",
            opt=True,
        ),
        X(
            ["How do I stop freezing when I speak?", "Tips for speaking confidence?"],
            "Lower the stakes: talk to yourself while cooking, record voice notes, and prepare a few 'bridge phrases' like 'how do you say...' or 'what I mean is...'. Fluency grows from many small, low-pressure conversations rather than from perfect sentences.",
            opt=True,
        ),
        X(
            "Can you give me five useful phrases for small talk?",
            "Sure, I'll keep them simple and common: greetings, 'what do you do?', 'where are you from?', 'I'm learning {lang} because...', and 'could you say that more slowly?'. Write them down, say them aloud daily this week, and use at least two with {tutor}.",
            opt=True,
        ),
    ],
)

# 27. Music practice ---------------------------------------------------------------
bp(
    "music_practice",
    6,
    ["Practicing {piece} on {inst}", "{inst} practice routine", "Recital prep: {piece}"],
    {
        ("inst", "piece", "spot"): [
            ("piano", "Chopin's Nocturne in E-flat, Op. 9 No. 2", "the ornamented run in bar 16"),
            ("classical guitar", "Tárrega's Lágrima", "the barre chord in the second half"),
            ("violin", "the first movement of Vivaldi's 'Spring'", "the shift to third position"),
            ("cello", "the Prelude from Bach's Cello Suite No. 1", "the string crossings in measures 22–24"),
            ("trumpet", "'Feeling Good' from our jazz band chart", "the high notes at the end"),
            ("ukulele", "'Riptide' by Vance Joy", "the fast strumming in the chorus"),
            ("piano", "Debussy's Clair de Lune", "the left-hand arpeggios in the middle section"),
        ],
        "bpm": [60, 72, 84, 92, 108, 120],
        "target": calc(lambda s: s["bpm"] + 24),
        "teacher": [
            "Mrs. Adebayo",
            "Mr. Petrosyan",
            "my teacher Ilse",
            "Maestro Kowalczyk",
            "Ms. Delacroix",
            "Teacher Ana",
        ],
        "recital": ["May 17", "June 8", "December 12", "April 26", "November 22", "March 30"],
        "mins": [20, 30, 40, 45, 60, 25],
    },
    [
        X(
            [
                "I'm learning {piece} on {inst} for a recital on {recital}. I can only play it at {bpm} bpm so far.",
                "Recital on {recital}, piece is {piece}, instrument {inst}. Currently at {bpm} bpm. How do I get it up to speed?",
            ],
            [
                "You have time if you practice deliberately. Raise the metronome in small steps, 2–4 bpm, only after you can play a passage cleanly three times in a row, and spend most of your time on the hardest spots instead of always starting from the beginning.",
                "Speed comes from accuracy. Work sections at {bpm} until they're relaxed, then nudge the metronome up a few clicks. Aim for about {target} bpm in practice a week or two before {recital}, even if the performance tempo is a little slower.",
            ],
        ),
        X(
            ["The hardest part is {spot}. I keep messing it up.", "I always fall apart at {spot}."],
            "Isolate {spot}: loop just that bit plus one note on either side, slowly, perhaps 20 times with the metronome. Try rhythmic variations (long-short, then short-long) and practice the transition into it separately, since mistakes often start in the bar before.",
        ),
        X(
            ["I practice about {mins} minutes a day. Enough?", "Is {mins} minutes a day of practice enough?"],
            "{mins} focused minutes beats two distracted hours. Structure it: five minutes of warm-up, most of the time on problem spots, and the last few minutes playing the piece through for fun. Practicing every day matters more than marathon sessions.",
            opt=True,
        ),
        X(
            "{teacher} says I'm tense in my shoulders. Any tips?",
            "Tension usually comes from effort in the wrong place. Play a passage, then stop and check your shoulders, jaw and grip; drop them deliberately. Slow practice with conscious relaxation, and short breaks every 15 minutes, help the new habit stick. {teacher} can watch for it during lessons too.",
            opt=True,
        ),
        X(
            [
                "I get really nervous performing. How do I deal with that?",
                "How do I handle stage fright at the recital?",
            ],
            "Practice performing, not just playing: record yourself, play for a friend, and do a full run-through in your recital clothes. On the day, slow your breathing (a long exhale helps) and pick a spot in the piece where you'll reset if something goes wrong.",
            opt=True,
        ),
        X(
            "Should I memorize it or use the sheet music?",
            "Ask {teacher} what's expected for the recital. If memorizing, learn it in sections and practice starting from several 'landmarks' throughout, so a slip doesn't force you back to the beginning.",
            opt=True,
        ),
    ],
)

# 28. Book recommendations --------------------------------------------------------
bp(
    "book_recs",
    5,
    ["Books like {liked}", "Book club pick for {club}", "What to read after {liked}"],
    {
        "liked": [
            "Project Hail Mary",
            "The Night Circus",
            "Educated",
            "Station Eleven",
            "The Secret History",
            "A Gentleman in Moscow",
            "Piranesi",
        ],
        "recs": calc(
            lambda s: {
                "Project Hail Mary": "The Martian (obviously), Children of Time by Adrian Tchaikovsky, and The Long Way to a Small, Angry Planet",
                "The Night Circus": "The Starless Sea by the same author, Jonathan Strange & Mr Norrell, and The Ten Thousand Doors of January",
                "Educated": "The Glass Castle, Know My Name by Chanel Miller, and Crying in H Mart",
                "Station Eleven": "The Road, Severance by Ling Ma, and Sea of Tranquility",
                "The Secret History": "If We Were Villains, The Goldfinch, and Babel by R. F. Kuang",
                "A Gentleman in Moscow": "The Remains of the Day, Rules of Civility, and The Guernsey Literary and Potato Peel Pie Society",
                "Piranesi": "The Library at Mount Char, A Wizard of Earthsea, and Invisible Cities by Italo Calvino",
            }[s["liked"]]
        ),
        "club": [
            "the Tuesday Night Readers",
            "our office book club",
            "the Maplewood library group",
            "Wine & Words",
            "my neighborhood's book swap",
            "the Chapter & Verse club",
        ],
        "members": [5, 7, 8, 9, 11, 12],
        "avoid": [
            "nothing too bleak",
            "no romance-heavy plots",
            "under 400 pages",
            "no graphic violence",
            "something available as an audiobook",
            "nothing we've read: we did Circe last month",
        ],
        "kid": [
            "my 12-year-old nephew Arlo",
            "my daughter June, who's 9",
            "my teenage cousin Priya",
            "my dad, who only reads thrillers",
            "my friend Mateus, who's recovering from surgery",
            "my grandmother, who loves mysteries",
        ],
    },
    [
        X(
            [
                "I just finished {liked} and loved it. What should I read next?",
                "Loved {liked}. Can you recommend something similar?",
            ],
            [
                "If you liked {liked}, try {recs}. What did you enjoy most about it: the plot, the characters, or the writing style?",
                "A few that readers of {liked} often enjoy: {recs}. Tell me what hooked you and I can narrow it down.",
            ],
        ),
        X(
            [
                "Mostly the characters and the sense of wonder.",
                "Honestly it was the voice and the characters.",
            ],
            "Then I'd start with the first one on that list; it's strong on both character and atmosphere. If you want something shorter in between, a novella can be a nice palate cleanser.",
        ),
        X(
            [
                "I'm also picking the next book for {club} ({members} people). Requirement: {avoid}.",
                "Different question: I need a pick for {club}, {members} members, and the rule is {avoid}.",
            ],
            "For a group of {members} with that constraint, pick something with a clear central question people can disagree about. Discussion thrives on moral gray areas, so I'd look for a mid-length novel with an ambiguous ending.",
            opt=True,
        ),
        X(
            "Can you give me three discussion questions for whichever we pick?",
            "Sure, here are some generic ones that work for most novels: Which character changed the most, and was it believable? What did the ending ask you to decide for yourself? If the story were set today and where we live, what would be different?",
            opt=True,
        ),
        X(
            ["Also looking for a gift for {kid}. Any ideas?", "One more: a book for {kid}?"],
            "That depends on their taste, but a safe approach is a well-loved series starter, since if they like it you've solved the next few gifts too. Tell me two books they've enjoyed recently and I'll suggest something specific.",
            opt=True,
        ),
        X(
            "Should I read everything else by the author of {liked} first?",
            "It's worth it if you loved the voice. Authors' other books can differ a lot in tone, so read a sample chapter first and see whether it grabs you the same way.",
            opt=True,
        ),
    ],
)

# 29. Medical appointment logistics -----------------------------------------------
bp(
    "medical_appointment",
    6,
    ["Scheduling {proc} with {doctor}", "Insurance question: {proc}", "Appointment prep: {proc}"],
    {
        "proc": [
            "an MRI of my left knee",
            "a dermatology follow-up",
            "my first colonoscopy",
            "an allergy skin test",
            "a sleep study",
            "a physical therapy evaluation",
            "an echocardiogram",
        ],
        "doctor": [
            "Dr. Nakamura",
            "Dr. Feldstein",
            "Dr. Osei",
            "Dr. Varga",
            "Dr. Delgado-Ruiz",
            "Dr. Thornbury",
        ],
        "clinic": [
            "Lakeview Medical Center",
            "St. Brigid's Hospital",
            "Summit Health on Elm Street",
            "Riverside Imaging",
            "the Northgate clinic",
            "Bayview Specialty Care",
        ],
        "date": [
            "March 14 at 8:15 a.m.",
            "June 3 at 1:40 p.m.",
            "October 22 at 7:30 a.m.",
            "January 9 at 3:00 p.m.",
            "August 27 at 10:20 a.m.",
            "May 6 at 9:45 a.m.",
        ],
        "claim": pat("CLM-####-#####"),
        "insurer": ["Blue Cross", "Aetna", "UnitedHealthcare", "Cigna", "Kaiser", "Humana"],
        "copay": [35, 40, 50, 75, 25, 60],
        "bill": [1240, 385, 2875, 640, 1910, 455],
    },
    [
        X(
            [
                "I have {proc} scheduled with {doctor} at {clinic} on {date}. What should I do to prepare?",
                "My appointment for {proc} is on {date} ({doctor}, {clinic}). Anything I should sort out beforehand?",
            ],
            [
                "A few practical steps: confirm whether it needs a referral or prior authorization from your insurer, ask the clinic about any preparation instructions (fasting, medications, clothing), and plan to arrive 15 minutes early for paperwork. For medical specifics, follow what {doctor}'s office tells you.",
                "Call {clinic} a few days ahead to confirm the time and any prep instructions, check with your insurance about prior authorization, and write down your questions for {doctor}. Bring your insurance card, ID and a medication list.",
            ],
        ),
        X(
            [
                "My insurance is {insurer}. How do I check if prior authorization is needed?",
                "I'm with {insurer}. How do I find out whether {proc} is covered?",
            ],
            "Call the member services number on your {insurer} card, give them the procedure and the provider, and ask whether prior authorization is required and what your cost will be. Ask for a reference number for the call and write down the rep's name; it helps a lot if there's a dispute later.",
        ),
        X(
            [
                "I got a bill for ${bill:,}, but I thought my copay was ${copay}. The claim number is {claim}.",
                "A bill came for ${bill:,} (claim {claim}) when I expected to pay a ${copay} copay. What now?",
            ],
            "Don't pay yet. Compare the bill with the Explanation of Benefits from {insurer} for claim {claim}; if they don't match, or the EOB shows it as denied, call {insurer} first, then the clinic's billing office. Often it's a coding error or a missing authorization that can be fixed and resubmitted.",
            opt=True,
        ),
        X(
            "Can you help me write a short appeal letter?",
            "Here's a template: 'I am writing to appeal the denial of claim {claim} for {proc} on {date}, provided by {doctor} at {clinic}. The service was medically necessary and [prior authorization was obtained / my physician can provide supporting documentation]. Please reconsider the claim.' Attach the EOB and any letter from {doctor}.",
            opt=True,
        ),
        X(
            ["Should I bring someone with me?", "Do I need someone to drive me home?"],
            "For some procedures, especially anything with sedation, clinics require a responsible adult to take you home, so ask {clinic} directly. Even when it's not required, a second person taking notes is useful.",
            opt=True,
        ),
        X(
            "What questions should I ask {doctor}?",
            "Good ones: what the results will tell us, when and how you'll get them, what the next steps are for each possible outcome, and whether there are any restrictions afterwards. Write them down beforehand; it's easy to forget in the room.",
            opt=True,
        ),
        X(
            "I need to reschedule. How much notice do they usually need?",
            "Many clinics ask for 24–48 hours' notice and some charge a late-cancellation fee, so call {clinic} as soon as you know. For imaging or procedures booked weeks out, ask to be put on the cancellation list for an earlier slot.",
            opt=True,
        ),
    ],
)

# 30. Moving house -----------------------------------------------------------------
bp(
    "moving_house",
    5,
    ["Moving to {dest} on {mdate}", "Moving quote from {mover}", "Move checklist: {origin} to {dest}"],
    {
        "origin": ["Raleigh", "Minneapolis", "Tucson", "Portland, Maine", "Cleveland", "Sacramento"],
        "dest": [
            "Seattle",
            "Nashville",
            "Salt Lake City",
            "Philadelphia",
            "Charleston",
            "Madison, Wisconsin",
        ],
        "mdate": ["June 28", "August 1", "September 15", "May 31", "July 12", "October 4"],
        "mover": [
            "Two Guys and a Truck",
            "Bellhop",
            "Allied Van Lines",
            "Hercules Movers",
            "U-Pack",
            "Blue Heron Moving Co.",
        ],
        "quote": ["4,850", "2,175", "6,300", "3,420", "1,980", "5,640"],
        "beds": [
            "one-bedroom apartment",
            "two-bedroom condo",
            "three-bedroom house",
            "studio",
            "two-bedroom townhouse",
            "four-bedroom house",
        ],
        "street": [
            "412 Alder Lane",
            "88 Pemberton Court",
            "1207 Ridgeview Drive",
            "35 Halloran Street",
            "2290 Sycamore Avenue",
            "9 Quarry Hill Road",
        ],
        "pet": [
            "our two cats",
            "a nervous greyhound",
            "a 40-gallon fish tank",
            "my piano",
            "a huge monstera",
            "three bikes",
        ],
    },
    [
        X(
            [
                "We're moving from {origin} to {dest} on {mdate}, a {beds}. Where do I even start?",
                "Moving a {beds} from {origin} to {dest} on {mdate}. Help me make a plan?",
            ],
            [
                "Start with the things that have lead time: book movers or a truck now, give notice on your lease, and schedule utilities to shut off and start. Then declutter room by room before you pack, because every box you don't move saves money.",
                "Let's work backwards from {mdate}. Eight weeks out: movers and lease notice. Four weeks: change of address, utilities, school or vet records. Two weeks: pack non-essentials. Final week: essentials box, cleaning and confirming everything.",
            ],
        ),
        X(
            [
                "{mover} quoted ${quote}. Is that reasonable for {origin} to {dest}?",
                "Got a quote for ${quote} from {mover}. Fair?",
            ],
            "It depends on distance, volume and services like packing. Get at least three written quotes based on an in-home or video survey, and compare binding versus non-binding estimates. Check that {mover} has a USDOT number and read recent reviews for damage claims.",
        ),
        X(
            "Our new address is {street}, {dest}. What should I update first?",
            "Set up USPS mail forwarding to {street} first, then update your bank, employer, insurance, the DMV (many states give you 30 days or so) and voter registration. Make a list of every subscription and account as you go.",
            opt=True,
        ),
        X(
            ["What about {pet}? Any special advice?", "We also have {pet}. How do we handle that?"],
            "Plan for {pet} separately rather than treating it as regular cargo. Ask {mover} what they will and won't transport and whether extra insurance is needed, and on moving day keep anything alive or fragile with you if at all possible.",
            opt=True,
        ),
        X(
            "What should go in the first-night box?",
            "Toilet paper, phone chargers, medications, a change of clothes, toiletries, basic tools, bedsheets, a few plates and cups, snacks, and anything your pets need. Label it clearly and keep it in your car.",
            opt=True,
        ),
        X(
            "How do I get our security deposit back in full?",
            "Clean thoroughly, patch small nail holes, and take time-stamped photos and video of every room after you've moved out. Return all keys, give the landlord your forwarding address ({street}) in writing, and check your state's deadline for returning deposits.",
            opt=True,
        ),
    ],
)

# 31. Wedding planning --------------------------------------------------------------
bp(
    "wedding_planning",
    5,
    ["Wedding planning: {venue}", "Wedding budget for {guests} guests", "{couple} wedding timeline"],
    {
        "couple": [
            "Hannah & Tomás",
            "Priya & Sam",
            "Maeve & Jordan",
            "Dev & Aisling",
            "Kofi & Elena",
            "Lucas & Ines",
        ],
        "venue": [
            "the Old Mill at Hartwell",
            "Larkspur Farm",
            "the Carriage House in Savannah",
            "Bellweather Winery",
            "a lakeside lodge in Bemidji",
            "the Botanic Conservatory",
        ],
        ("guests", "budget"): [
            (60, 18000),
            (85, 25000),
            (110, 32000),
            (140, 41000),
            (45, 12000),
            (175, 55000),
        ],
        "wdate": ["September 20", "June 14", "October 11", "May 3", "August 23", "April 26"],
        "caterer": [
            "Fig & Fennel Catering",
            "Smokestack BBQ",
            "Casa Lupita",
            "Harvest Table Co.",
            "Golden Lotus",
            "Bread & Salt Kitchen",
        ],
        "perhead": [38, 52, 65, 74, 46, 89],
        "food_total": calc(lambda s: f"{s['guests'] * s['perhead']:,}"),
        "food_pct": calc(lambda s: round(100 * s["guests"] * s["perhead"] / s["budget"])),
    },
    [
        X(
            [
                "My fiancé and I ({couple}) are getting married on {wdate} at {venue}. We have about {guests} guests and ${budget:,}. Where do we start?",
                "Wedding planning help: {couple}, {wdate}, {venue}, {guests} guests, ${budget:,} total budget.",
            ],
            [
                "Congratulations! With the date and venue set, lock in the vendors that book up first: caterer, photographer and officiant. A common budget split puts roughly 40–50% toward venue and catering, 10–12% for photography, and keeps 5–10% as a buffer for surprises.",
                "Congrats to you both! The big early decisions are done. Next, book the caterer and photographer, then send save-the-dates around six to eight months out. Set aside a contingency of about 5–10% of the ${budget:,}.",
            ],
        ),
        X(
            [
                "{caterer} quoted ${perhead} per person. Does that fit?",
                "Is ${perhead} a head from {caterer} reasonable for us?",
            ],
            "At ${perhead} per person for {guests} guests, food is about ${food_total}, or roughly {food_pct}% of your budget before tax, gratuity and service charges, which often add 20–25%. Ask {caterer} for an all-in number including staff, rentals and cake cutting.",
        ),
        X(
            "Can you draft a timeline for the last month before {wdate}?",
            "Four weeks out: final guest count and seating chart. Three weeks: confirm every vendor's arrival time in writing. Two weeks: final dress or suit fitting and vendor payments. Last week: pack an emergency kit, delegate day-of tasks, and give the venue coordinator a single contact person's number.",
            opt=True,
        ),
        X(
            [
                "How do we politely cap the guest list at {guests}?",
                "Our parents keep adding people. How do we hold the line at {guests}?",
            ],
            "Set a clear rule and apply it to everyone, for example no plus-ones for guests who aren't in a long-term relationship, or no coworkers. Give each set of parents a fixed number of invitations and let them choose within it.",
            opt=True,
        ),
        X(
            "What's a realistic rain plan for {venue}?",
            "Ask {venue} what their indoor backup space holds and whether tents can be reserved with a late decision deadline. Decide a call time (often 48 hours before) and tell the vendors in advance so nobody is surprised.",
            opt=True,
        ),
        X(
            "Should we hire a day-of coordinator?",
            "For {guests} guests it's usually worth it. A coordinator manages vendors and the timeline so you and your families aren't troubleshooting during the reception. Many start working with you four to six weeks before {wdate}.",
            opt=True,
        ),
    ],
)

# 32. Gift ideas ------------------------------------------------------------------
bp(
    "gift_ideas",
    5,
    ["Gift for {who}", "{occasion} gift under ${budget}", "Present ideas for {name}"],
    {
        "p": [
            (
                "Grandpa Walt",
                "80th birthday",
                "someone who has everything",
                "birdwatching and crossword puzzles",
            ),
            (
                "my sister Lena",
                "housewarming",
                "a new homeowner who loves to host",
                "pottery and true-crime podcasts",
            ),
            ("my boss Marguerite", "retirement", "a retiring school principal", "fly fishing and her garden"),
            ("my partner Theo", "anniversary", "a coffee snob", "vintage jazz records"),
            ("my friend Oyelaran", "graduation", "a new nurse starting night shifts", "baking bread"),
            ("my niece Zadie", "13th birthday", "a teenage gamer", "board games and Formula 1"),
        ],
        "name": calc(lambda s: s["p"][0]),
        "occasion": calc(lambda s: s["p"][1]),
        "who": calc(lambda s: s["p"][2]),
        "likes": calc(lambda s: s["p"][3]),
        "them": calc(lambda s: s["p"][0].replace("my ", "your ", 1)),
        "budget": [25, 40, 60, 100, 150, 250],
    },
    [
        X(
            [
                "I need a gift for {name}'s {occasion}. Budget is ${budget}, and they're into {likes}.",
                "Gift ideas? It's for {name}, {occasion}, about ${budget}. Interests: {likes}.",
            ],
            [
                "Nice, having specific interests makes this easier. For someone into {likes}, an experience or a quality version of something they already use tends to go over better than novelty items. Do they prefer practical things or something sentimental?",
                "With interests like {likes}, I'd look at either an upgrade to something they use constantly or an experience related to it. Practical or sentimental?",
            ],
        ),
        X(
            ["Practical, definitely. They'd describe themselves as {who}.", "More practical. Think {who}."],
            "Then consumables and experiences are your friends: things that get used up or enjoyed rather than stored. For ${budget}, a class, a subscription box related to {likes}, or a premium version of a daily-use item are all solid options.",
        ),
        X(
            "Could I make something instead of buying?",
            "Definitely. A handmade item tied to {likes}, or a small photo book of shared memories, often means more than anything store-bought. Pair it with a small purchased item if you want it to feel more complete.",
            opt=True,
        ),
        X(
            ["What should I write in the card?", "Can you help me write a short card message?"],
            "Keep it personal and short: mention a specific memory or quality you appreciate about {them}, then a warm wish for the {occasion}. Two or three sentences in your own words beat a long poem.",
            opt=True,
        ),
        X(
            "How do I wrap something awkwardly shaped?",
            "Use a gift bag with tissue paper, or wrap it in a large scarf or tea towel (furoshiki style), which becomes part of the gift. A box from a liquor or shoe store can also turn an odd shape into an easy rectangle.",
            opt=True,
        ),
        X(
            "Last minute idea if shipping doesn't arrive in time?",
            "Print a nice voucher for an experience (a class, a dinner, a day trip) and book it online today. Add a small local item, like good chocolate or flowers, so there's something to open.",
            opt=True,
        ),
    ],
)

# 33. Online order problem / return -------------------------------------------------
bp(
    "order_return",
    6,
    ["Order {order} never arrived", "Return for {product}", "Refund dispute with {store}"],
    {
        ("store", "product", "price"): [
            ("Amazon", "a Dyson V15 vacuum", "749.99"),
            ("Best Buy", "Sony WH-1000XM5 headphones", "329.00"),
            ("IKEA", "a KALLAX shelf unit", "89.99"),
            ("Wayfair", "a standing desk frame", "419.00"),
            ("Zappos", "Hoka trail running shoes", "139.95"),
            ("Target", "an Instant Pot Duo Plus", "119.99"),
            ("REI", "a Garmin Forerunner 265", "449.99"),
        ],
        "order": pat("###-#######-#######"),
        "problem": [
            ("says delivered but it's not here", "was marked delivered but never arrived"),
            ("arrived with a cracked panel", "arrived damaged"),
            ("is the wrong color", "arrived in the wrong color"),
            ("stopped working after nine days", "stopped working after nine days"),
            ("came with missing screws and hardware bag", "arrived with parts missing"),
            ("was charged twice", "was charged to my card twice"),
        ],
        "tracking": pat("1Z###@@##########"),
        "days": [5, 9, 12, 18, 25, 31],
    },
    [
        X(
            [
                "My {store} order {order} for {product} {problem[0]}. What should I do?",
                "Ugh, {product} from {store} {problem[0]}. Order number {order}.",
            ],
            [
                "Sorry, that's frustrating. Start with {store}'s order page: there's usually a 'problem with order' option that's faster than general support. Take photos now if anything arrived damaged or incomplete, and keep all the packaging until it's resolved.",
                "First, document everything: screenshots of the order page for {order}, photos of what arrived, and the tracking history. Then use {store}'s built-in return or problem flow, which usually resolves things faster than email.",
            ],
        ),
        X(
            [
                "It cost ${price}. Tracking number is {tracking}.",
                "Paid ${price}. The tracking ID is {tracking}.",
            ],
            "Keep that tracking number handy. For an item marked delivered, check with neighbors, your building's mailroom and any safe spots first, then report it within the store's window (often 30 days). For a damaged or defective ${price} item, ask for a replacement or refund; either is standard.",
        ),
        X(
            [
                "It's been {days} days since I reported it and nothing. Next step?",
                "{days} days later and still no resolution. What now?",
            ],
            "Escalate politely: reply in the same thread, reference order {order} and the date you first reported it, and ask for a supervisor or a specific resolution date. If you paid by credit card and the store doesn't resolve it, a chargeback is your fallback; issuers usually want proof you tried the merchant first.",
            opt=True,
        ),
        X(
            "Can you write the complaint message for me?",
            "Sure: 'Hello, my order {order} ({product}, ${price}) {problem[1]}. I reported this {days} days ago and haven't received a resolution. Please issue a full refund or send a replacement by [date]. Photos and tracking ({tracking}) are attached. Thank you.' Keep it factual and short.",
            opt=True,
        ),
        X(
            ["How does a credit card chargeback work?", "Should I just do a chargeback?"],
            "You file a dispute with your card issuer, explaining what happened and attaching evidence. The issuer typically issues a temporary credit while they investigate with the merchant. It can take weeks, and you shouldn't also accept a refund from {store} for the same charge.",
            opt=True,
        ),
        X(
            "They finally refunded it. How long until it shows on my card?",
            "Refunds typically take 3–10 business days to appear, depending on your bank. If it hasn't shown up after 10 business days, ask {store} for the refund transaction reference and give it to your bank.",
            ta="{store}'s help page says card refunds usually appear within 3–5 business days after processing, though some banks take up to 10. If it's not there after that, ask {store} for the refund transaction reference for order {order} and give it to your bank.",
            tool="{store} Help Center, Refunds: 'Once your return or claim is processed, refunds are issued to the original payment method. Credit and debit card refunds typically appear within 3–5 business days; some banks may take up to 10 business days to post the credit.'",
            opt=True,
        ),
    ],
)

# 34. Laptop / phone support ---------------------------------------------------------
bp(
    "laptop_support",
    6,
    ["{device} {symptom[1]}", "{device} running slow after {os} update", "Fix {symptom[1]} on {device}"],
    {
        ("device", "os", "proc"): [
            ("Dell XPS 13 9310", "Windows 11 23H2", "MsMpEng.exe"),
            ("MacBook Air M1", "macOS Sonoma 14.4", "WindowServer"),
            ("Lenovo ThinkPad T14 Gen 2", "Windows 11 24H2", "SearchIndexer.exe"),
            ("MacBook Pro 14 (M3)", "macOS Sequoia 15.1", "mds_stores"),
            ("HP Spectre x360", "Windows 10 22H2", "Teams.exe"),
            ("ThinkPad X1 Carbon Gen 9", "Ubuntu 24.04", "gnome-shell"),
        ],
        "symptom": [
            ("the fan runs loud all the time", "loud fan"),
            ("the battery drains in two hours", "battery drain"),
            ("Wi-Fi keeps dropping", "Wi-Fi dropping"),
            ("it won't wake from sleep", "sleep/wake issue"),
            ("the external monitor flickers", "monitor flicker"),
            ("the keyboard types double letters", "double typing"),
        ],
        "cpu": [38, 52, 67, 81, 95, 44],
        "ram": [8, 16, 8, 16, 32, 8],
        "age": [
            "two years",
            "about four years",
            "eighteen months",
            "three years",
            "six months",
            "five years",
        ],
    },
    [
        X(
            [
                "Problem with my {device} ({os}): {symptom[0]}. It's about {age} old.",
                "Ever since the {os} update, {symptom[0]} on my {device}. Any fixes?",
            ],
            [
                "Let's narrow it down. First question: did it start right after an update, or gradually? Open Task Manager (or Activity Monitor on a Mac) and tell me which process is using the most CPU and memory.",
                "Updates commonly cause this for a few days while the system re-indexes, but if it's persistent let's check what's consuming resources. What does Task Manager or Activity Monitor show at the top?",
            ],
        ),
        X(
            [
                "{proc} is at around {cpu}% CPU constantly. I have {ram} GB of RAM.",
                "Top process is {proc}, sitting at {cpu}% CPU. RAM is {ram} GB.",
            ],
            "{proc} at {cpu}% for hours isn't normal. After a big update, indexing or security scanning processes can run heavily for a day or two; if it persists beyond that, restart once, check for pending updates, and look for a specific file or folder it's stuck on. With {ram} GB of RAM, also close browser tabs while testing so memory pressure doesn't muddy the picture.",
        ),
        X(
            "Should I just do a clean reinstall?",
            "Only as a last resort. Back everything up first, and try the simpler fixes, like driver or firmware updates from the manufacturer's site and a safe-mode boot to see if a third-party app is responsible. A reinstall fixes software issues but not hardware ones.",
            opt=True,
        ),
        X(
            ["Could it be a hardware problem at {age} old?", "How do I know if it's hardware?"],
            "Run the built-in diagnostics: Dell, Lenovo and HP have F12 or boot-menu diagnostics, and Macs run Apple Diagnostics if you hold D at startup (or the power button on Apple silicon). If the diagnostics pass and the problem disappears in safe mode, it's almost certainly software.",
            opt=True,
        ),
        X(
            "How do I check battery health?",
            "On Windows, run `powercfg /batteryreport` in a terminal and open the HTML file; compare 'design capacity' with 'full charge capacity'. On a Mac, go to System Settings > Battery > Battery Health. Below about 80% of design capacity, a replacement is worth considering.",
            opt=True,
        ),
        X(
            "Fixed it, thanks! Was the {proc} thing the cause?",
            "Sounds like it. Keep an eye on it for a week, and if {proc} spikes again after the next update, you'll know it's the first thing to check. Setting a restore point now is a good idea while everything works.",
            opt=True,
        ),
    ],
)

# 35. Home Wi-Fi -------------------------------------------------------------------
bp(
    "wifi_network",
    5,
    ["Slow Wi-Fi with {router}", "{isp} speeds way below plan", "Mesh Wi-Fi for a {house}"],
    {
        "router": [
            "a Netgear Nighthawk R7000",
            "a TP-Link Archer AX55",
            "the ISP's Arris SURFboard combo",
            "an ASUS RT-AX86U",
            "a Google Nest Wifi",
            "an Eero 6+ system",
        ],
        "isp": ["Comcast Xfinity", "Spectrum", "AT&T Fiber", "Verizon Fios", "Cox", "Google Fiber"],
        ("plan", "got"): [(300, 42), (500, 85), (1000, 120), (400, 61), (200, 23), (940, 310)],
        "house": [
            "two-story house with a finished basement",
            "long ranch house",
            "third-floor apartment",
            "brick rowhouse",
            "three-story townhouse",
            "small cabin with thick log walls",
        ],
        "room": [
            "the upstairs office",
            "the back bedroom",
            "the garage workshop",
            "the kids' rooms",
            "the sunroom",
            "the basement TV room",
        ],
    },
    [
        X(
            [
                "I pay {isp} for {plan} Mbps but only get about {got} Mbps in {room}. I have {router}.",
                "Speed test says {got} Mbps in {room}, plan is {plan} Mbps with {isp}. Router: {router}.",
            ],
            [
                "First, check what you get right next to the router with a cable. If that's close to {plan} Mbps, the internet connection is fine and the problem is Wi-Fi coverage. If it's low even on a cable, call {isp}.",
                "Let's separate the ISP from the Wi-Fi. Run a speed test on a laptop plugged directly into {router}; if that's near {plan} Mbps, the bottleneck is the wireless signal reaching {room}.",
            ],
        ),
        X(
            [
                "Wired next to the router I get close to full speed. It's a {house}.",
                "Ethernet at the router is fine, almost {plan}. House is a {house}.",
            ],
            "So it's coverage. In a {house}, walls, floors and distance eat signal quickly. Before buying anything, try moving the router to a more central, elevated spot, away from metal shelves and fish tanks, and make sure your device connects on the 5 GHz band.",
        ),
        X(
            ["Is a mesh system worth it?", "Should I get mesh Wi-Fi or an extender?"],
            "For a {house}, mesh is usually better than a basic extender, because the nodes coordinate and your devices roam between them smoothly. If you can run an Ethernet cable to the second node (a wired backhaul), performance improves dramatically.",
            opt=True,
        ),
        X(
            "What about powerline adapters?",
            "They can work well or terribly depending on your home's wiring, and they're affected by appliances on the same circuit. Buy from a store with easy returns and test in {room} before committing.",
            opt=True,
        ),
        X(
            ["Any router settings I should change?", "Should I tweak channels or anything?"],
            "Update the firmware, use WPA3 or WPA2-AES, and let the router pick channels automatically unless a Wi-Fi analyzer app shows heavy congestion. On 2.4 GHz, stick to channels 1, 6 or 11. Reboot it after changes.",
            opt=True,
        ),
        X(
            "Can I make sure the kids' devices go offline at 10 pm?",
            "Most modern routers and mesh apps have parental controls with schedules per device. Group the kids' devices into a profile and set a bedtime schedule; note that phones on mobile data will bypass it.",
            opt=True,
        ),
    ],
)

# 36. Landlord email -----------------------------------------------------------------
bp(
    "landlord_email",
    5,
    ["Email to landlord about {issue[1]}", "{landlord}: {issue[1]} at {apt}", "Tenant rights: {issue[1]}"],
    {
        "landlord": [
            "Mr. Castellano",
            "Greystone Property Management",
            "Mrs. Abernethy",
            "Halvorsen Realty",
            "Dimitri Volkov",
            "Urban Nest Rentals",
        ],
        "apt": ["Apt 4B", "Unit 12", "the basement flat", "Apt 307", "Unit C", "Apt 2F"],
        "issue": [
            ("the heat hasn't worked for six days", "no heat"),
            ("there's black mold in the bathroom", "mold"),
            ("the dishwasher has leaked for three weeks", "leaking dishwasher"),
            ("the bedroom window lock is broken", "broken window lock"),
            ("the hot water runs out after five minutes", "hot water"),
            ("there are mice in the kitchen", "mice"),
        ],
        "first": ["October 3", "January 17", "February 2", "March 29", "November 11", "December 6"],
        "rent": [1350, 1725, 2100, 985, 1490, 2650],
        "lease": [
            "the end of August",
            "June 30",
            "next March",
            "December 31",
            "September 15",
            "the end of May",
        ],
    },
    [
        X(
            [
                "I need to email {landlord} because {issue[0]}. I first told them on {first}. Can you help me write it?",
                "Help me write a firm but polite email to {landlord}: {issue[0]}, and I reported it on {first} already.",
            ],
            [
                "Of course. A good repair request is dated, factual and specific about what you want and by when. Here's a draft: 'Dear {landlord}, I'm following up on my report from {first} that {issue[0]} at {apt}. Please arrange a repair by [date]. I'm available to provide access on weekdays after 5 pm. Thank you.'",
                "Sure. Keep it in writing and stick to facts: what's wrong, when you first reported it ({first}), what you're asking for, and a reasonable deadline. I'll draft something you can adjust.",
            ],
        ),
        X(
            [
                "Can you make it a bit firmer? This is the second time.",
                "They ignored the first message. Stronger version?",
            ],
            "Firmer version: 'I first reported this on {first} and have not received a response. This affects the habitability of {apt}. Please confirm by [date] when the repair will be completed. If I don't hear back, I'll need to explore the options available to me under local tenant law.' Keep the tone calm; it reads better if this ever goes further.",
        ),
        X(
            "Can I withhold rent until they fix it? Rent is ${rent:,}.",
            "Be careful: rules on withholding rent or 'repair and deduct' vary a lot by state and city, and doing it wrong can put you at risk of eviction. Check your local tenant rights organization or housing authority before withholding any of the ${rent:,}. Keep paying on time and documenting everything in the meantime.",
            opt=True,
        ),
        X(
            ["What should I document?", "How do I build a paper trail?"],
            "Dated photos and videos, copies of every email and text, notes from phone calls (date, who, what was said), and receipts for any costs you incurred. Store them in one folder; it makes any complaint or dispute much easier.",
            opt=True,
        ),
        X(
            "My lease ends {lease}. Should I just move out instead?",
            "That's a personal call. If the problem gets fixed and the rent is fair, staying avoids moving costs. If it drags on, you might negotiate an early lease release given the issue. Either way, keep everything in writing before {lease}.",
            opt=True,
        ),
        X(
            "Who can I contact if they still ignore me?",
            "Your city or county housing code enforcement office can inspect and cite landlords for habitability issues. Local tenant unions and legal aid clinics often give free advice too. Bring your documentation.",
            opt=True,
        ),
    ],
)

# 37. Kids / school -----------------------------------------------------------------
bp(
    "kids_school",
    5,
    ["Homework help for {kid} ({grade})", "{kid}'s {grade} {topic[1]}", "Helping {kid} with {topic[1]}"],
    {
        "kid": ["Maya", "Elijah", "Rosie", "Theo", "Amara", "Felix"],
        "grade": ["2nd grade", "4th grade", "5th grade", "6th grade", "3rd grade", "7th grade"],
        "topic": [
            ("a science fair project about which paper towel absorbs the most water", "science fair"),
            ("learning multiplication tables", "times tables"),
            ("a book report on Hatchet", "book report"),
            ("a volcano model that actually erupts", "volcano model"),
            ("a history project on the Erie Canal", "history project"),
            ("reading comprehension homework", "reading homework"),
        ],
        "due": ["next Friday", "February 21", "in ten days", "the 9th", "right after spring break", "Monday"],
        "teacher": [
            "Ms. Halloway",
            "Mr. Obuya",
            "Mrs. Lindgren",
            "Ms. Tran",
            "Mr. Gallagher",
            "Mrs. Okonkwo",
        ],
        "mins": [15, 20, 25, 30, 10, 40],
    },
    [
        X(
            [
                "My {grade}r {kid} has {topic[0]} due {due}. How can I help without doing it for them?",
                "{kid} ({grade}) needs help with {topic[0]}, due {due}. Tips for helping the right amount?",
            ],
            [
                "A good rule: you ask questions, {kid} makes the decisions and does the writing or building. Break the work into small steps on a calendar leading up to {due}, and let them own the checklist.",
                "Be the project manager, not the contractor. Help {kid} split the work into steps with mini deadlines before {due}, ask guiding questions, and let the mistakes happen; teachers can tell when parents did the work.",
            ],
        ),
        X(
            [
                "{teacher} said it should take about {mins} minutes a night. {kid} gets frustrated fast.",
                "Their teacher, {teacher}, expects around {mins} minutes per evening, but {kid} melts down quickly.",
            ],
            "Try short focused bursts: set a timer for {mins} minutes, then a real break. Start each session with something {kid} can succeed at quickly, and praise effort rather than results. If frustration is constant, it's worth a quick note to {teacher}; they may adjust the load or spot a skill gap.",
        ),
        X(
            "Can you suggest a simple way to structure the project?",
            "Use the classic steps: question, hypothesis, materials, procedure, results and conclusion (or, for a report: summary, favorite part, and what you'd change). Make a poster template together and fill in one section per session.",
            opt=True,
        ),
        X(
            ["Any fun ways to practice at home?", "How do I make this less of a chore?"],
            "Turn it into a game: a quick quiz in the car, a race against the timer, or letting {kid} quiz you and catch your 'mistakes'. Tie it to something they love; kids remember things better when there's a story attached.",
            opt=True,
        ),
        X(
            "Should I email {teacher} about how stressed {kid} has been?",
            "Yes, a short, friendly note is helpful. Describe what you're seeing at home, ask what they're seeing in class, and ask if there's anything you should do differently. Teachers generally appreciate the heads-up.",
            opt=True,
        ),
        X(
            "There's a quiz or a short presentation at the end. How should {kid} prepare?",
            "Have {kid} explain it to you in their own words, as if you were the teacher: what they learned, how they did it, and what surprised them. Two or three short run-throughs at dinner are plenty; understanding beats memorizing a script.",
            opt=True,
        ),
    ],
)

# 38. Photography --------------------------------------------------------------------
bp(
    "photography",
    5,
    ["{camera} settings for {subject}", "Photographing {subject}", "Lens advice: {camera}"],
    {
        "cl": [
            ("Fujifilm X-T30 II", "the 15-45mm kit lens"),
            ("Sony a6400", "a Sigma 30mm f/1.4"),
            ("Canon EOS R50", "the 18-45mm kit zoom"),
            ("Nikon Z5", "a 50mm f/1.8"),
            ("iPhone 15 Pro", "the built-in 3x telephoto"),
            ("Olympus OM-D E-M10 IV", "a 40-150mm zoom"),
        ],
        "camera": calc(lambda s: s["cl"][0]),
        "lens": calc(lambda s: s["cl"][1]),
        "subject": [
            "my son's indoor basketball games",
            "the northern lights",
            "a friend's backyard wedding",
            "birds at my feeder",
            "food for my baking blog",
            "the Milky Way at Joshua Tree",
        ],
        "prob": [
            "everything comes out blurry",
            "the colors look muddy",
            "photos are really grainy",
            "I can't get the background blurry",
            "the sky is always blown out",
            "autofocus keeps hunting",
        ],
        "iso": [1600, 3200, 6400, 800, 400, 12800],
    },
    [
        X(
            [
                "I'm trying to shoot {subject} with my {camera} and {lens}, but {prob}.",
                "Photography help: {subject}, using my {camera} with {lens}. Problem: {prob}.",
            ],
            [
                "Let's work through it. What mode are you shooting in, and what shutter speed, aperture and ISO is the camera choosing? Those three numbers usually explain the problem.",
                "That's fixable. Tell me the settings from one of the bad shots (shutter speed, aperture, ISO); you can find them in the photo info or EXIF data.",
            ],
        ),
        X(
            [
                "Auto mode. One shot says 1/30 s, f/5.6, ISO {iso}.",
                "It was 1/30 at f/5.6 and ISO {iso}, in auto.",
            ],
            "1/30 s is the key: too slow for anything moving, and even handheld shake shows at longer focal lengths. Switch to shutter priority, set about 1/500 for action or 1/250 for people, and let the ISO rise. Some noise at ISO {iso} or higher is much better than blur.",
        ),
        X(
            ["Is it worth upgrading from {lens}?", "Should I buy a better lens?"],
            "If light is your problem, a fast prime (f/1.8 or brighter) gathers far more light than a typical kit zoom. If you already shoot with one, settings and technique will matter more than new glass. Either way, rent before you buy to confirm it suits how you shoot.",
            opt=True,
        ),
        X(
            "Should I shoot RAW?",
            "If you're willing to edit, yes. RAW files keep much more highlight and shadow detail, and you can fix white balance afterwards. Shoot RAW+JPEG for a while if you want quick JPEGs to share.",
            opt=True,
        ),
        X(
            ["Any editing tips for {subject}?", "How should I edit these?"],
            "Start with white balance and exposure, then pull highlights down and shadows up a little, add a touch of contrast and apply noise reduction last. Keep edits consistent across a set so the photos look like they belong together.",
            opt=True,
        ),
        X(
            "How do I keep the camera steady in low light without a tripod?",
            "Brace against a wall or railing, tuck your elbows in, exhale slowly and shoot a short burst; one frame is often sharper. Turn on image stabilization if your {camera} or lens has it.",
            opt=True,
        ),
    ],
)

# 39. Tabletop RPG campaign ------------------------------------------------------------
bp(
    "dnd_campaign",
    5,
    ["D&D session prep: {arc}", "Campaign help: {villain[0]}", "Running {module} for {players} players"],
    {
        "module": [
            "Curse of Strahd",
            "Lost Mine of Phandelver",
            "a homebrew campaign",
            "Tomb of Annihilation",
            "Waterdeep: Dragon Heist",
            "Storm King's Thunder",
        ],
        "players": [3, 4, 5, 6, 4, 5],
        "villain": [
            ("Countess Veyra Ashgrave", "a vampire noble who wants her lost daughter back"),
            ("Morthaniel", "a lich who believes death is a mercy"),
            ("Brother Quill", "a smiling cult leader who feeds the poor"),
            ("Ottavio Sarn", "a merchant prince buying up the city's debts"),
            ("Granny Thistlewick", "a hag who grants wishes with hidden prices"),
            ("Ferrum", "a clockwork tyrant built to keep the peace"),
        ],
        "arc": [
            "the heist at the Gilded Bell",
            "the siege of Brackenford",
            "the flooded monastery",
            "the masquerade ball",
            "escaping the Underdark",
            "the trial of the paladin",
        ],
        "pc": [
            ("Cadence", "a tiefling bard"),
            ("Grusk", "a half-orc cleric"),
            ("Sylvaris", "an elf ranger"),
            ("Pip Tinkerwell", "a gnome artificer"),
            ("Jessamy Vale", "a human rogue"),
            ("Torrvan", "a dragonborn paladin"),
        ],
        "level": [3, 4, 5, 7, 9, 11],
    },
    [
        X(
            [
                "I'm running {module} for {players} players (level {level}). Next session is {arc}. Can you help me plan it?",
                "DM help! {players} players, level {level}, {module}. Next up: {arc}.",
            ],
            [
                "Fun! I'd plan {arc} as three beats: a tense setup that gives players choices, a complication that forces improvisation, and a payoff that moves the main plot forward. What do your players enjoy most: combat, roleplay or exploration?",
                "Let's make {arc} memorable. Think in scenes instead of a script: a hook, two or three obstacles with multiple solutions, and a consequence that sticks. What's the group's favorite part of play?",
            ],
        ),
        X(
            [
                "Mostly roleplay. The main villain is {villain[0]}, {villain[1]}.",
                "They love roleplay. The big bad is {villain[0]}, {villain[1]}.",
            ],
            "Then let {villain[0]} appear in person without a fight: a conversation where they're charming, reasonable and terrifying. Give them a clear want the players can sympathize with a little; the best villains have a point.",
        ),
        X(
            [
                "One player keeps derailing the story. Their character is {pc[0]}, {pc[1]}. How do I handle it?",
                "How do I deal with the player behind {pc[0]} ({pc[1]}) going off on tangents?",
            ],
            "Talk to the player outside the game first; they may simply want more spotlight. In game, tie {pc[0]}'s personal goals into the main plot so their tangents lead back to it, and don't be afraid to let consequences land.",
            opt=True,
        ),
        X(
            "Can you give me a balanced encounter for level {level}?",
            "Use the encounter-building guidelines as a starting point, but for {players} level-{level} characters mix one tough enemy with a few minions and add terrain that matters, like a collapsing bridge or rising water. Give the enemies a goal other than 'fight to the death'.",
            opt=True,
        ),
        X(
            ["What's a good twist for {arc}?", "Any twist ideas?"],
            "Have an ally the party trusts turn out to be working for {villain[0]}, but for sympathetic reasons, like protecting family. It complicates the moral picture without invalidating everything that came before.",
            opt=True,
        ),
        X(
            "How do I end the session on a cliffhanger?",
            "Stop right after a reveal or just as initiative is rolled. Write down the exact situation so you can restart smoothly, and give players a little 'what does your character do?' to think about until next time.",
            opt=True,
        ),
    ],
)

# 40. Etsy / small business -------------------------------------------------------------
bp(
    "etsy_shop",
    5,
    ["Pricing for {shop}", "{shop}: {product} margins", "Growing my Etsy shop {shop}"],
    {
        ("shop", "item"): [
            ("Moss & Ember Candles", ("soy candles in amber jars", 6.40, 24, 0.5)),
            ("Little Loom Studio", ("hand-woven wall hangings", 18.50, 85, 4)),
            ("Crooked Pine Ceramics", ("speckled stoneware mugs", 9.75, 38, 1.5)),
            ("Paper Fox Press", ("letterpress greeting cards", 1.85, 6, 0.2)),
            ("Saltwater Soap Co.", ("goat milk soap bars", 2.30, 9, 0.3)),
            ("Bramblewood Leather", ("leather card wallets", 11.20, 48, 2)),
        ],
        "product": calc(lambda s: s["item"][0]),
        "cost": calc(lambda s: f"{s['item'][1]:.2f}"),
        "price": calc(lambda s: s["item"][2]),
        "hours": calc(lambda s: s["item"][3]),
        "labor": calc(lambda s: f"{s['item'][3] * 20:.2f}"),
        "true_cost": calc(lambda s: f"{s['item'][1] + s['item'][3] * 20 + 0.1 * s['item'][2]:.2f}"),
        "sales": [35, 8, 22, 140, 90, 17],
    },
    [
        X(
            [
                "I run an Etsy shop called {shop} selling {product}. Materials cost ${cost} per item and I charge ${price}. Am I pricing right?",
                "Pricing question for {shop}: {product}, about ${cost} in materials each, selling for ${price}.",
            ],
            [
                "Materials are only part of it. Add your labor (hours times a wage you'd accept), Etsy fees (roughly 10% once you include transaction and payment processing), packaging and shipping. How long does each one take to make?",
                "Let's build the price from the bottom up: materials, labor, fees, packaging, then profit. Etsy's listing, transaction and payment fees together usually land around 10% of the sale. How many hours per item?",
            ],
        ),
        X(
            [
                "About {hours} hours each, and I sell roughly {sales} a month.",
                "Roughly {hours} hours per piece; around {sales} sales a month.",
            ],
            "If you value your time at $20 an hour, labor alone is ${labor} per item. With ${cost} in materials and about 10% in fees, your true cost is around ${true_cost}, compared with a ${price} price. At {sales} sales a month, that difference adds up fast, so check you're not working for free.",
        ),
        X(
            "Would raising prices kill my sales?",
            "Often less than people fear. Handmade buyers are buying the story and the quality. Try a 10–15% increase on new listings or a new product line first and watch conversion for a month.",
            opt=True,
        ),
        X(
            ["How do I get more traffic to {shop}?", "Etsy SEO tips?"],
            "Use all 13 tags with specific multi-word phrases buyers actually type, put the most important words at the start of titles, and make your first photo clear and bright. Renewing listings regularly and offering free shipping over a threshold can help too.",
            opt=True,
        ),
        X(
            "Do I need to register as a business or collect sales tax?",
            "Etsy collects and remits sales tax in most US states for you, but you still report the income. Depending on your location and volume you may need a business license; check your city's rules and keep records of every expense.",
            opt=True,
        ),
        X(
            "Should I also sell at craft fairs?",
            "Fairs are great for testing prices and getting direct feedback. Bring enough stock, a card reader, and a sign with your shop name {shop} so people can find you online later. Track which products sell in person versus online.",
            opt=True,
        ),
    ],
)

# 41. Spreadsheet formulas ---------------------------------------------------------------
bp(
    "spreadsheet",
    5,
    ["{app} formula for {task[0]}", "Spreadsheet: {task[0]}", "{app} {err[0]} error"],
    {
        "app": [
            "Excel 365",
            "Google Sheets",
            "Excel 2019",
            "Google Sheets",
            "Excel for Mac",
            "LibreOffice Calc",
        ],
        "task": [
            ("looking up prices from another sheet", "XLOOKUP (or INDEX/MATCH in older versions)"),
            ("summing hours per employee per week", "SUMIFS with the employee name and a date range"),
            ("flagging overdue invoices", 'a conditional formatting rule like =AND(D2<TODAY(), E2="Unpaid")'),
            ("counting unique customers", "COUNTA(UNIQUE(range))"),
            ("splitting full names into first and last", "TEXTSPLIT or Text to Columns"),
            ("a running balance for a checkbook", "=F1+D2-E2 copied down the column"),
        ],
        "err": [
            (
                "#N/A",
                "the lookup value wasn't found, often because of trailing spaces or numbers stored as text",
            ),
            ("#REF!", "the formula points at a cell or sheet that was deleted or moved"),
            ("#VALUE!", "a cell the formula uses contains text where a number is expected"),
            ("#SPILL!", "the result wants to spill into cells that already contain something"),
            ("#DIV/0!", "a divisor cell is empty or zero"),
            ("#NAME?", "a function name is misspelled or isn't available in your version"),
        ],
        "sheet": ["Inventory", "Timesheet_May", "Invoices2025", "Customers", "Roster", "Budget"],
        "rows": [340, 1200, 85, 5600, 260, 4100],
    },
    [
        X(
            [
                "In {app}, what's the best formula for {task[0]}? My sheet is called {sheet}.",
                "How do I do {task[0]} in {app}? Data is on the '{sheet}' tab.",
            ],
            [
                "I'd use {task[1]}. If you tell me which columns hold the key and the value, I'll write the exact formula for the {sheet} sheet.",
                "{task[1]} is the cleanest approach. Share the column layout and I'll tailor it.",
            ],
        ),
        X(
            [
                "I tried and got {err[0]}. There are {rows:,} rows.",
                "Getting {err[0]} in a few cells out of {rows:,}.",
            ],
            "{err[0]} usually means {err[1]}. Click one of the failing cells and use Evaluate Formula (Excel) or check each reference by hand (Sheets) to see which part breaks; it's usually a handful of odd rows rather than the formula itself.",
        ),
        X(
            "Can I hide the errors instead of fixing them?",
            'You can wrap the formula in IFERROR(formula, ""), but do that only after you understand why they happen, because hiding a real data problem can give you wrong totals without any warning.',
            opt=True,
        ),
        X(
            ["How do I make the formula apply to new rows automatically?", "Can this expand as I add rows?"],
            "Convert the range to a table (Ctrl+T in Excel) so formulas fill down automatically, or in Google Sheets use ARRAYFORMULA over whole columns. Structured references also make formulas much easier to read.",
            opt=True,
        ),
        X(
            "Any way to make the sheet faster? It's getting sluggish.",
            "Volatile functions like INDIRECT, OFFSET and TODAY recalculate constantly; replace them where you can. Limit whole-column references, and move heavy lookups to a helper column instead of repeating them in many formulas.",
            opt=True,
        ),
        X(
            "Should I switch to a database at this point?",
            "With {rows:,} rows a spreadsheet is still fine. Consider a database when several people edit at once, you need strict data validation, or you pass a few hundred thousand rows.",
            opt=True,
        ),
    ],
)

# 42. Coffee brewing ---------------------------------------------------------------------
bp(
    "coffee",
    5,
    ["{method} recipe with {beans}", "Dialing in {grinder}", "Why is my {method} {taste}?"],
    {
        "method": [
            "V60 pour-over",
            "AeroPress",
            "French press",
            "espresso on a Gaggia Classic",
            "Chemex",
            "moka pot",
        ],
        "grinder": [
            "a Baratza Encore",
            "a Timemore C2",
            "a Fellow Ode",
            "a 1Zpresso JX-Pro",
            "a Comandante C40",
            "a Eureka Mignon",
        ],
        "beans": [
            "an Ethiopian Yirgacheffe",
            "a Colombian Huila",
            "a Kenyan AA",
            "a Brazil Santos",
            "a Guatemalan Antigua",
            "a Sumatra Mandheling",
        ],
        "roaster": [
            "Onyx",
            "Counter Culture",
            "a local roaster called Ember & Oak",
            "Stumptown",
            "Sey",
            "Heart Roasters",
        ],
        "taste": ["sour", "bitter", "weak", "muddy", "harsh", "flat"],
        "dose": [15, 18, 20, 30, 22, 17],
        "water": calc(lambda s: s["dose"] * 16),
    },
    [
        X(
            [
                "My {method} tastes {taste}. I'm using {beans} from {roaster} and {grinder}.",
                "Coffee nerd question: {method} keeps coming out {taste}. Beans: {beans} ({roaster}). Grinder: {grinder}.",
            ],
            [
                "'{taste}' gives us a direction. Sour or weak usually means under-extraction (grind finer, brew longer, use hotter water); bitter or harsh usually means over-extraction (grind coarser, shorten the brew). Muddy or flat can point to old beans or too many fines. What's your ratio?",
                "Let's dial it in. Change one variable at a time, starting with grind size. Under-extracted coffee tastes sour and thin; over-extracted tastes bitter and drying. What dose and water amount are you using?",
            ],
        ),
        X(
            [
                "{dose} g of coffee, and I eyeball the water.",
                "I use {dose} grams, and I don't really measure the water.",
            ],
            "Start measuring the water. It's the fastest way to consistent cups. A 1:16 ratio is a good baseline: {dose} g of coffee to {water} g of water. Adjust from there: toward 1:15 for stronger, toward 1:17 for lighter.",
        ),
        X(
            "What water temperature should I use?",
            "Around 92–96°C (198–205°F) for most brewers. Lighter roasts benefit from the hotter end and darker roasts from the cooler end; if you're not sure how {roaster} roasts {beans}, start at 94°C.",
            opt=True,
        ),
        X(
            ["Is {grinder} good enough?", "Should I upgrade my grinder?"],
            "The grinder matters more than the brewer. {grinder} is a burr grinder, so it's fine for most methods; consistent technique will help more than new gear. Only upgrade if you can't get the grind fine or even enough for your {method}.",
            opt=True,
        ),
        X(
            "How long do beans stay fresh after roasting?",
            "They're often at their best from about 4 days to 4 weeks after the roast date. Store them in an airtight, opaque container at room temperature, and freeze portions if you bought more than you'll use in a month.",
            opt=True,
        ),
        X(
            "Can you give me a full recipe to try tomorrow morning?",
            "Try this: {dose} g coffee, {water} g water just off the boil, a 30-second bloom with about twice the coffee's weight in water, then the rest in slow pours, aiming to finish in about 3 minutes. Taste, then adjust the grind one step at a time.",
            opt=True,
        ),
    ],
)

# 43. Pandas data analysis -------------------------------------------------------------------
bp(
    "pandas_analysis",
    5,
    ["pandas: {task[0]}", "Analyzing {dataset} with pandas", "pandas {warn[0]}"],
    {
        "dataset": [
            "bike_share_trips_2023.csv",
            "clinic_wait_times.xlsx",
            "etsy_orders.csv",
            "city_311_calls.parquet",
            "sensor_temps_greenhouse.csv",
            "library_checkouts.csv",
        ],
        "rows": ["2.8 million", "46,000", "12,400", "1.1 million", "380,000", "920,000"],
        "task": [
            (
                "monthly totals by category",
                "df.groupby([pd.Grouper(key='date', freq='MS'), 'category'])['amount'].sum()",
            ),
            ("7-day rolling average", "df.set_index('date')['value'].rolling('7D').mean()"),
            (
                "pivot weekdays against hours",
                "df.pivot_table(index='weekday', columns='hour', values='id', aggfunc='count')",
            ),
            (
                "merge with a lookup table",
                "df.merge(lookup, on='station_id', how='left', validate='many_to_one')",
            ),
            ("percent change year over year", "monthly.pct_change(periods=12)"),
            ("top 3 items per group", "df.sort_values('count', ascending=False).groupby('branch').head(3)"),
        ],
        "warn": [
            ("SettingWithCopyWarning", "use .loc[] on the original frame or call .copy() when you slice"),
            (
                "FutureWarning about groupby observed=False",
                "pass observed=True when grouping by categoricals",
            ),
            (
                "MemoryError on read_csv",
                "read only the needed columns with usecols and set dtypes, or read in chunks",
            ),
            ("DtypeWarning: columns have mixed types", "pass dtype= for that column or low_memory=False"),
            (
                "ValueError: cannot reindex on an axis with duplicate labels",
                "drop or aggregate the duplicate index values first",
            ),
            (
                "KeyError on a column that clearly exists",
                "strip whitespace from the column names with df.columns.str.strip()",
            ),
        ],
        "pdver": ["2.1.4", "2.2.0", "2.2.2", "1.5.3", "2.2.3", "2.0.3"],
    },
    [
        X(
            [
                "I have {dataset} with {rows} rows and I need {task[0]}. pandas {pdver}.",
                "Working with {dataset} ({rows} rows) in pandas {pdver}. How do I get {task[0]}?",
            ],
            [
                "Something like `{task[1]}` should do it. Make sure the date column is parsed as datetime first with pd.to_datetime.",
                "Try `{task[1]}`. If the result looks odd, check the dtypes with df.dtypes, since string dates are the usual culprit.",
            ],
        ),
        X(
            ["Now I'm getting {warn[0]}.", "Also seeing {warn[0]} when I run it."],
            "For that one: {warn[1]}. It's worth fixing rather than silencing, because it usually points to a real ambiguity in the code.",
        ),
        X(
            "How do I make this faster on {rows} rows?",
            "Read only the columns you need, convert repeated strings to the category dtype, and avoid row-wise apply() in favor of vectorized operations. For {rows} rows, saving an intermediate result as Parquet also makes reloads much faster.",
            opt=True,
        ),
        X(
            ["How should I plot the result?", "What's a quick way to visualize this?"],
            "For a time series, `result.plot()` gives you a line chart immediately; for a pivot, a heatmap with seaborn or matplotlib's imshow is clearer. Label the axes and add a title with the date range of {dataset}.",
            opt=True,
        ),
        X(
            "Should I upgrade from pandas {pdver}?",
            "If you're on 1.x, upgrading to 2.x brings better performance and optional Arrow-backed dtypes, but read the migration notes since some defaults changed. Pin the version in requirements.txt either way so results stay reproducible.",
            opt=True,
        ),
        X(
            "Can I do the same thing in SQL instead?",
            "Yes. A GROUP BY with a date-truncation function (date_trunc in PostgreSQL or DuckDB) gives you the same aggregation. DuckDB can even query {dataset} directly without loading it into a database first.",
            opt=True,
        ),
    ],
)


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------

LENGTH_WEIGHTS = {3: 8, 4: 18, 5: 26, 6: 22, 7: 15, 8: 11}  # exchanges per conversation
BRANCH_SHARE = 0.15  # conversations with an abandoned (regenerated / edited) branch
HIDDEN_SYSTEM_SHARE = 0.75
CONTEXT_NODE_SHARE = 0.05  # hidden "user_editable_context" node (custom instructions)
TOOL_SHARE = 0.33  # of conversations whose blueprint offers a browsing step
EXTRA_EMPTY_SHARE = 0.04  # empty assistant node just before a real reply
RESUMED_SHARE = 0.12  # conversation continued days later
CLOSER_SHARE = 0.10  # a short thank-you exchange at the end

CLOSERS = [
    (
        "Thanks, this is exactly what I needed.",
        "Glad it helped! Come back any time if something changes or you get stuck.",
    ),
    ("Perfect, thank you!", "You're welcome. Good luck with it, and let me know how it turns out."),
    (
        "OK, that makes sense now. Appreciate it.",
        "Happy to help. If anything surprises you along the way, just send me the details.",
    ),
    (
        "Great, I'll try that tonight.",
        "Sounds like a plan. If it doesn't work, tell me what you see and we'll take it from there.",
    ),
    ("You're a lifesaver, thanks.", "Anytime! I hope the rest of it goes smoothly."),
    ("Thanks! I'll report back.", "Please do. I'm curious how it goes."),
    ("That's really helpful, thank you.", "My pleasure. Feel free to pick this conversation up again later."),
    (
        "Got it. Thanks for being patient with all the questions.",
        "No problem at all; good questions make for better answers. Good luck!",
    ),
]

PROFILE = (
    "I live in the US, work in operations at a mid-sized company, and like cooking, running "
    "and tinkering with code on weekends."
)
INSTRUCTIONS = "Be concise and practical. Use short paragraphs, no tables unless I ask."


def _fmt(text, vals):
    try:
        return text.format(**vals)
    except (KeyError, IndexError, ValueError) as exc:  # pragma: no cover - authoring error
        raise SystemExit(f"template error {exc!r} in: {text!r}") from exc


_NO_CAPS = {"docker", "pandas", "git", "npm", "pip", "cargo"}
_SENTENCE_START = re.compile(r"(^|(?<=[.?!] ))([a-z][a-z'-]*)(?![\w<>(.])")


def _polish(text):
    """Tidy text after slot filling: sentence-initial capitals and no doubled full stops."""
    text = re.sub(r"(?<!\.)\.\.(?!\.)", ".", text)

    def cap(m):
        start = m.start(2)
        prev = text[:start].split()[-1] if start else ""
        word = m.group(2)
        if word in _NO_CAPS or prev.startswith("#") or prev in {"a.m.", "p.m.", "Co."}:
            return m.group(0)
        return m.group(1) + word[0].upper() + word[1:]

    return _SENTENCE_START.sub(cap, text)


def _model_slug(ts):
    if ts < _dt.datetime(2024, 5, 13, tzinfo=_dt.UTC).timestamp():
        return "gpt-4"
    if ts < _dt.datetime(2025, 8, 7, tzinfo=_dt.UTC).timestamp():
        return "gpt-4o"
    return "gpt-5"


def plan_conversations(rng):
    """Fill blueprint slots and choose exchanges/phrasings for every conversation."""
    plans = []
    for bpi in BLUEPRINTS:
        n = bpi["n"]
        slots = bpi["slots"]
        perms = {}
        for name, spec in slots.items():
            if not callable(spec):  # a list; a tuple key fills several names from one tuple value
                if len(spec) < n:
                    raise SystemExit(f"{bpi['key']}: slot {name!r} has {len(spec)} values, needs {n}")
                perms[name] = rng.sample(range(len(spec)), n)
        title_offset = rng.randrange(len(bpi["titles"]))
        for i in range(n):
            vals = {}
            for name, spec in slots.items():
                value = spec(rng, vals) if callable(spec) else spec[perms[name][i]]
                if isinstance(name, tuple):
                    vals.update(zip(name, value, strict=True))
                else:
                    vals[name] = value
            title = _polish(_fmt(bpi["titles"][(title_offset + i) % len(bpi["titles"])], vals))

            ex = bpi["ex"]
            has_tool = [j for j, e in enumerate(ex) if e["tool"]]
            use_tool = bool(has_tool) and rng.random() < TOOL_SHARE
            k = rng.choices(list(LENGTH_WEIGHTS), weights=list(LENGTH_WEIGHTS.values()))[0]
            if use_tool:
                k = min(k, 7)  # the tool message counts too: stay within 16 visible messages
            core = [j for j, e in enumerate(ex) if not e["opt"]]
            forced = [has_tool[0]] if use_tool and ex[has_tool[0]]["opt"] else []
            optional = [j for j, e in enumerate(ex) if e["opt"] and j not in forced]
            need = max(0, k - len(core) - len(forced))
            chosen = sorted(core + forced + rng.sample(optional, min(need, len(optional))))
            closer = (
                CLOSERS[rng.randrange(len(CLOSERS))]
                if len(chosen) < (7 if use_tool else 8) and rng.random() < CLOSER_SHARE
                else None
            )
            turns = []
            for j in chosen:
                e = ex[j]
                ui = rng.randrange(len(e["u"]))
                tool = use_tool and j == has_tool[0]
                a_alts = e["ta"] if tool and e["ta"] else e["a"]
                ai = rng.randrange(len(a_alts))
                turns.append(
                    {
                        "user": _polish(_fmt(e["u"][ui], vals)),
                        "assistant": _polish(_fmt(a_alts[ai], vals)),
                        "user_alt": [_polish(_fmt(t, vals)) for k2, t in enumerate(e["u"]) if k2 != ui],
                        "assistant_alt": [_polish(_fmt(t, vals)) for k2, t in enumerate(a_alts) if k2 != ai],
                        "tool": _polish(_fmt(e["tool"], vals)) if tool else None,
                    }
                )
            if closer:
                turns.append(
                    {
                        "user": closer[0],
                        "assistant": closer[1],
                        "user_alt": [],
                        "assistant_alt": [],
                        "tool": None,
                    }
                )
            plans.append({"key": bpi["key"], "index": i, "title": title, "turns": turns})
    titles = [p["title"] for p in plans]
    dupes = sorted({t for t in titles if titles.count(t) > 1})
    if dupes:
        raise SystemExit(f"duplicate titles: {dupes}")
    return plans


class _Tree:
    def __init__(self, conv_id, root_id):
        self.conv_id = conv_id
        self.mapping = {}
        self.counter = 0
        self.mapping[root_id] = {"id": root_id, "message": None, "parent": None, "children": []}
        self.root = root_id

    def new_id(self):
        self.counter += 1
        return str(uuid.uuid5(NAMESPACE, f"{self.conv_id}/node/{self.counter}"))

    def add(self, parent, message):
        nid = self.new_id()
        message["id"] = nid
        self.mapping[nid] = {"id": nid, "message": message, "parent": parent, "children": []}
        self.mapping[parent]["children"].append(nid)
        return nid


def _message(
    role, text, ts, *, name=None, hidden=False, end_turn=None, recipient="all", metadata=None, content=None
):
    md = dict(metadata or {})
    if hidden:
        md["is_visually_hidden_from_conversation"] = True
    return {
        "id": None,
        "author": {"role": role, "name": name, "metadata": {}},
        "create_time": ts,
        "update_time": None,
        "content": content if content is not None else {"content_type": "text", "parts": [text]},
        "status": "finished_successfully",
        "end_turn": end_turn,
        "weight": 1.0,
        "metadata": md,
        "recipient": recipient,
    }


def build_conversation(plan, conv_index, start_ts, rng, *, branch, extra_empty):
    conv_id = str(uuid.uuid5(NAMESPACE, f"{plan['title']}|{conv_index}"))
    root_id = (
        "client-created-root"
        if start_ts > _dt.datetime(2025, 3, 1, tzinfo=_dt.UTC).timestamp()
        else str(uuid.uuid5(NAMESPACE, f"{conv_id}/root"))
    )
    tree = _Tree(conv_id, root_id)
    slug = _model_slug(start_ts)
    t = start_ts
    times = []

    def tick(lo, hi):
        nonlocal t
        t += rng.uniform(lo, hi)
        t = round(t, 6)
        times.append(t)
        return t

    def asst_md(parent):
        return {
            "finish_details": {"type": "stop", "stop_tokens": [200002]},
            "is_complete": True,
            "model_slug": slug,
            "default_model_slug": slug,
            "parent_id": parent,
            "timestamp_": "absolute",
        }

    user_md = {"timestamp_": "absolute", "message_type": None}

    cur = root_id
    if rng.random() < HIDDEN_SYSTEM_SHARE:
        cur = tree.add(
            cur, _message("system", "", None, hidden=True, metadata={"rebase_system_message": True})
        )
    if rng.random() < CONTEXT_NODE_SHARE:
        content = {
            "content_type": "user_editable_context",
            "user_profile": f"The user provided the following information about themselves: {PROFILE}",
            "user_instructions": f"The user provided the additional info about how they would like you to respond: {INSTRUCTIONS}",
        }
        cur = tree.add(
            cur,
            _message(
                "user",
                None,
                None,
                hidden=True,
                content=content,
                metadata={
                    "is_user_system_message": True,
                    "user_context_message_data": {
                        "about_user_message": PROFILE,
                        "about_model_message": INSTRUCTIONS,
                    },
                },
            ),
        )

    turns = plan["turns"]
    resume_at = None
    if len(turns) >= 4 and rng.random() < RESUMED_SHARE:
        resume_at = rng.randrange(len(turns) - 2, len(turns))

    for j, turn in enumerate(turns):
        # user message (possibly an edited version, with the original left on an abandoned branch)
        gap = (30, 400) if j else (0, 2)
        if resume_at is not None and j == resume_at:
            gap = (86400 * 1, 86400 * 18)
        if branch and branch[0] == "edit" and branch[1] == j:
            old_u = tree.add(cur, _message("user", turn["user_alt"][0], tick(*gap), metadata=user_md))
            tree.add(
                old_u,
                _message(
                    "assistant",
                    (turn["assistant_alt"] or [turn["assistant"]])[0],
                    tick(4, 20),
                    end_turn=True,
                    metadata=asst_md(old_u),
                ),
            )
            gap = (25, 240)
        u = tree.add(cur, _message("user", turn["user"], tick(*gap), metadata=user_md))
        cur = u
        if branch and branch[0] == "regen" and branch[1] == j:
            tree.add(
                cur,
                _message(
                    "assistant", turn["assistant_alt"][0], tick(4, 20), end_turn=True, metadata=asst_md(cur)
                ),
            )
            tick(15, 180)  # user reads it, then regenerates
        if turn["tool"]:
            call = tree.add(
                cur,
                _message(
                    "assistant",
                    "",
                    tick(2, 6),
                    recipient="browser",
                    metadata={"model_slug": slug, "parent_id": cur, "invoked_plugin": {"type": "browser"}},
                ),
            )
            cur = tree.add(
                call,
                _message(
                    "tool",
                    turn["tool"],
                    tick(3, 10),
                    name="browser",
                    metadata={"command": "search", "status": "finished"},
                ),
            )
        elif extra_empty == j:
            cur = tree.add(
                cur, _message("assistant", "", tick(1, 3), metadata={"model_slug": slug, "parent_id": cur})
            )
        cur = tree.add(
            cur, _message("assistant", turn["assistant"], tick(4, 25), end_turn=True, metadata=asst_md(cur))
        )

    create = round(start_ts - rng.uniform(0.5, 3.0), 6)
    return {
        "title": plan["title"],
        "create_time": create,
        "update_time": max(times),
        "mapping": tree.mapping,
        "moderation_results": [],
        "current_node": cur,
        "plugin_ids": None,
        "conversation_id": conv_id,
        "conversation_template_id": None,
        "gizmo_id": None,
        "is_archived": False,
        "safe_urls": [],
        "default_model_slug": slug,
        "id": conv_id,
    }


def build(seed=SEED):
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not cryptography
    plans = plan_conversations(rng)
    rng.shuffle(plans)
    starts = sorted(rng.uniform(START, END) for _ in plans)

    n = len(plans)
    # Pick which conversations get an abandoned branch (need alternative phrasings to exist).
    branch_for = {}
    order = list(range(n))
    rng.shuffle(order)
    target = round(BRANCH_SHARE * n)
    for ci in order:
        if len(branch_for) >= target:
            break
        turns = plans[ci]["turns"]
        kind = "regen" if rng.random() < 0.6 else "edit"
        for kind_try in (kind, "edit" if kind == "regen" else "regen"):
            if kind_try == "regen":
                cands = [j for j, tr in enumerate(turns) if tr["assistant_alt"] and not tr["tool"]]
            else:
                cands = [j for j, tr in enumerate(turns) if tr["user_alt"]]
            if cands:
                branch_for[ci] = (kind_try, rng.choice(cands))
                break

    convs = []
    for ci, plan in enumerate(plans):
        extra_empty = None
        if (
            ci not in branch_for
            and not any(tr["tool"] for tr in plan["turns"])
            and rng.random() < EXTRA_EMPTY_SHARE
        ):
            extra_empty = rng.randrange(len(plan["turns"]))
        convs.append(
            build_conversation(
                plan, ci, round(starts[ci], 6), rng, branch=branch_for.get(ci), extra_empty=extra_empty
            )
        )
    convs.sort(key=lambda c: c["update_time"], reverse=True)  # newest first, like the export
    return convs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "-o", "--output", default=DEFAULT_OUT, help="output path (default: demo/conversations.json)"
    )
    args = ap.parse_args(argv)
    convs = build()
    data = json.dumps(convs, ensure_ascii=False, separators=(",", ":"))
    with open(args.output, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(data)
        fh.write("\n")
    n_msgs = 0
    for c in convs:
        node = c["current_node"]
        while node is not None:
            m = c["mapping"][node]["message"]
            if (
                m
                and m["content"].get("parts")
                and any(m["content"]["parts"])
                and not m["metadata"].get("is_visually_hidden_from_conversation")
            ):
                n_msgs += 1
            node = c["mapping"][node]["parent"]
    print(
        f"wrote {args.output}: {len(convs)} conversations, {n_msgs} messages on the current branches",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
