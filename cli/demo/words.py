"""The word tables the built-in generator fills its task templates from (data only; the
templates and the logic are in `models`). Editing a table changes every seeded row after the
first draw from it: the demo's and the tests' pinned outputs with it.
"""

from __future__ import annotations

from typing import Final

TOPICS: Final = {
    "renewable energy": (
        "Solar and wind power now supply a growing share of the world's electricity.",
        "Their costs have fallen sharply over the last decade.",
        "Storage remains the main obstacle, because the sun and the wind are not always there.",
        "Grid operators are investing in batteries and long-distance transmission lines.",
    ),
    "remote work": (
        "Many companies kept remote work after the pandemic ended.",
        "Employees value the time they save by not commuting.",
        "Managers worry that collaboration and mentoring suffer at a distance.",
        "Hybrid schedules have become a common compromise.",
    ),
    "urban gardening": (
        "City residents are turning rooftops and vacant lots into vegetable gardens.",
        "The gardens provide fresh produce in neighbourhoods with few grocery stores.",
        "They also cool the surrounding streets in summer.",
        "Volunteers say the shared work builds trust between neighbours.",
    ),
    "sleep": (
        "Adults need seven to nine hours of sleep a night.",
        "Too little sleep impairs memory, mood and the immune system.",
        "Screens before bedtime delay the release of melatonin.",
        "A regular schedule is the simplest way to sleep better.",
    ),
    "electric cars": (
        "Sales of electric cars have doubled in several countries.",
        "They produce no exhaust, which improves air quality in cities.",
        "Buyers still worry about range and the availability of chargers.",
        "Battery prices are expected to keep falling.",
    ),
    "coral reefs": (
        "Coral reefs cover a tiny fraction of the ocean floor.",
        "They shelter about a quarter of all marine species.",
        "Warmer water causes corals to expel the algae they live with, a process called bleaching.",
        "Scientists are breeding heat-tolerant corals to restore damaged reefs.",
    ),
    "open-source software": (
        "Open-source software is developed in public and can be reused by anyone.",
        "Most of the internet runs on open-source servers and libraries.",
        "Many projects depend on a handful of unpaid maintainers.",
        "Companies increasingly fund the projects they rely on.",
    ),
}

SUMMARIES: Final = {
    "renewable energy": "Cheap solar and wind power are spreading fast, and storage is the main "
    "remaining problem.",
    "remote work": "Remote work has stayed popular, and hybrid schedules balance saved commuting "
    "time against weaker collaboration.",
    "urban gardening": "Urban gardens supply fresh food, cool cities and bring neighbours "
    "together.",
    "sleep": "Adults need seven to nine hours of regular sleep, and screens at night make it "
    "worse.",
    "electric cars": "Electric car sales are rising fast, though range and charging still worry "
    "buyers.",
    "coral reefs": "Coral reefs hold a quarter of marine species and are threatened by bleaching, "
    "which scientists hope to counter with heat-tolerant corals.",
    "open-source software": "Open-source software underpins the internet but often rests on a few "
    "unpaid maintainers, whom companies are starting to fund.",
}

PHRASES: Final = {
    "Good morning": {"French": "Bonjour", "Spanish": "Buenos días", "German": "Guten Morgen"},
    "Thank you very much": {
        "French": "Merci beaucoup",
        "Spanish": "Muchas gracias",
        "German": "Vielen Dank",
    },
    "Where is the train station?": {
        "French": "Où est la gare ?",
        "Spanish": "¿Dónde está la estación de tren?",
        "German": "Wo ist der Bahnhof?",
    },
    "I would like a coffee, please.": {
        "French": "Je voudrais un café, s'il vous plaît.",
        "Spanish": "Quisiera un café, por favor.",
        "German": "Ich hätte gern einen Kaffee, bitte.",
    },
    "How much does this cost?": {
        "French": "Combien ça coûte ?",
        "Spanish": "¿Cuánto cuesta esto?",
        "German": "Wie viel kostet das?",
    },
    "See you tomorrow": {"French": "À demain", "Spanish": "Hasta mañana", "German": "Bis morgen"},
    "The weather is nice today.": {
        "French": "Il fait beau aujourd'hui.",
        "Spanish": "Hoy hace buen tiempo.",
        "German": "Das Wetter ist heute schön.",
    },
    "I do not understand.": {
        "French": "Je ne comprends pas.",
        "Spanish": "No entiendo.",
        "German": "Ich verstehe nicht.",
    },
}

PRODUCTS: Final = (
    "headphones",
    "blender",
    "backpack",
    "desk lamp",
    "running shoes",
    "phone case",
    "coffee grinder",
    "novel",
    "hotel stay",
    "pizza",
)
POSITIVE: Final = (
    "works perfectly",
    "exceeded my expectations",
    "is worth every penny",
    "arrived early and well packed",
    "is the best I have owned",
    "made my mornings easier",
)
NEGATIVE: Final = (
    "broke after a week",
    "is overpriced for what it does",
    "arrived damaged",
    "stopped working after two uses",
    "was a complete disappointment",
    "feels cheap and flimsy",
)

FUNCTIONS: Final = (
    (
        "reverses a string",
        "reverse_string",
        'def reverse_string(text: str) -> str:\n    """Return text reversed."""\n'
        "    return text[::-1]",
    ),
    (
        "returns the factorial of a non-negative integer",
        "factorial",
        'def factorial(n: int) -> int:\n    """Return n! for n >= 0."""\n    result = 1\n'
        "    for k in range(2, n + 1):\n        result *= k\n    return result",
    ),
    (
        "checks whether a string is a palindrome, ignoring case and spaces",
        "is_palindrome",
        'def is_palindrome(text: str) -> bool:\n    """Return whether text reads the same '
        'backwards."""\n    letters = [c.lower() for c in text if not c.isspace()]\n'
        "    return letters == letters[::-1]",
    ),
    (
        "returns the sum of the even numbers in a list",
        "sum_of_evens",
        'def sum_of_evens(numbers: list[int]) -> int:\n    """Return the sum of the even '
        'numbers."""\n    return sum(n for n in numbers if n % 2 == 0)',
    ),
    (
        "counts the vowels in a string",
        "count_vowels",
        'def count_vowels(text: str) -> int:\n    """Return how many vowels text holds."""\n'
        '    return sum(1 for c in text.lower() if c in "aeiou")',
    ),
    (
        "converts a temperature from Celsius to Fahrenheit",
        "celsius_to_fahrenheit",
        'def celsius_to_fahrenheit(celsius: float) -> float:\n    """Return the temperature in '
        'degrees Fahrenheit."""\n    return celsius * 9 / 5 + 32',
    ),
    (
        "returns the n-th Fibonacci number",
        "fibonacci",
        'def fibonacci(n: int) -> int:\n    """Return the n-th Fibonacci number (fibonacci(0) '
        '== 0)."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n'
        "    return a",
    ),
    (
        "removes duplicate items from a list while keeping their order",
        "unique",
        'def unique(items: list[object]) -> list[object]:\n    """Return items without '
        'repeats, first occurrences kept."""\n    seen = set()\n    result = []\n'
        "    for item in items:\n        if item not in seen:\n            seen.add(item)\n"
        "            result.append(item)\n    return result",
    ),
    (
        "returns the largest number in a non-empty list without using max()",
        "largest",
        'def largest(numbers: list[float]) -> float:\n    """Return the largest number."""\n'
        "    best = numbers[0]\n    for n in numbers[1:]:\n        if n > best:\n"
        "            best = n\n    return best",
    ),
    (
        "counts how often each word occurs in a text",
        "word_counts",
        'def word_counts(text: str) -> dict[str, int]:\n    """Return a count of each '
        'lower-cased word."""\n    counts: dict[str, int] = {}\n'
        "    for word in text.lower().split():\n        counts[word] = counts.get(word, 0) + 1\n"
        "    return counts",
    ),
)
LANGUAGES: Final = ("Python", "Python 3", "idiomatic Python")

CATEGORIES: Final = {
    "fruits that grow on trees": ("apples", "pears", "cherries", "plums", "oranges", "mangoes"),
    "programming languages": ("Python", "Rust", "Go", "Java", "TypeScript", "C", "Haskell"),
    "planets of the solar system": ("Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn"),
    "renewable energy sources": ("solar", "wind", "hydropower", "geothermal", "tidal"),
    "musical instruments with strings": ("violin", "guitar", "cello", "harp", "banjo", "sitar"),
    "ways to save water at home": (
        "take shorter showers",
        "fix leaking taps",
        "run the dishwasher only when full",
        "water the garden in the evening",
        "collect rainwater",
    ),
    "habits that improve focus": (
        "turn off notifications",
        "work in short timed blocks",
        "keep a single task list",
        "take regular breaks",
        "sleep enough",
    ),
}

CONCEPTS: Final = {
    "photosynthesis": "Photosynthesis is how plants make food: they use the energy of sunlight "
    "to turn carbon dioxide and water into glucose, releasing oxygen as a by-product.",
    "recursion": "Recursion is when a function solves a problem by calling itself on a smaller "
    "version of the same problem, until it reaches a case simple enough to answer directly.",
    "inflation": "Inflation is the general rise of prices over time, which means that each unit "
    "of money buys a little less than before.",
    "a hash function": "A hash function maps data of any size to a fixed-size value; a good one "
    "makes it practically impossible to find two inputs with the same output.",
    "compound interest": "Compound interest is interest earned on both the original amount and "
    "the interest already added, so savings grow faster the longer they stay invested.",
    "the water cycle": "In the water cycle, water evaporates, condenses into clouds, falls as "
    "rain or snow, and flows back to the sea, over and over.",
    "machine learning": "Machine learning is a way of building programs that learn patterns from "
    "examples instead of following rules written by hand.",
    "supply and demand": "Supply and demand says that prices rise when people want more of "
    "something than is available, and fall when there is more than people want.",
    "a database index": "A database index is an extra data structure, often a B-tree, that lets "
    "the database find rows by a column's value without reading the whole table.",
    "public-key cryptography": "Public-key cryptography uses a pair of keys: anyone can encrypt "
    "or verify with the public key, but only the holder of the private key can decrypt or sign.",
}
AUDIENCES: Final = ("a ten-year-old", "a beginner", "a busy manager", "a high-school student")

CAPITALS: Final = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Canada": "Ottawa",
    "Australia": "Canberra",
    "Brazil": "Brasília",
    "Kenya": "Nairobi",
    "Norway": "Oslo",
    "Egypt": "Cairo",
    "Mexico": "Mexico City",
    "India": "New Delhi",
    "Portugal": "Lisbon",
    "Vietnam": "Hanoi",
}

ANTONYMS: Final = {
    "generous": "stingy",
    "ancient": "modern",
    "brave": "cowardly",
    "expand": "contract",
    "rare": "common",
    "transparent": "opaque",
    "accept": "refuse",
    "fragile": "sturdy",
    "humble": "arrogant",
    "victory": "defeat",
}
SYNONYMS: Final = {
    "happy": ("cheerful", "content", "joyful"),
    "fast": ("quick", "rapid", "swift"),
    "difficult": ("hard", "challenging", "demanding"),
    "big": ("large", "huge", "vast"),
    "smart": ("clever", "bright", "intelligent"),
    "tired": ("weary", "exhausted", "drained"),
}

GRAMMAR: Final = (
    ("She don't like coffee.", "She doesn't like coffee."),
    ("Me and him went to the store.", "He and I went to the store."),
    ("There is many reasons to stay.", "There are many reasons to stay."),
    ("I have went there before.", "I have gone there before."),
    ("Their going to be late.", "They're going to be late."),
    ("The team have finished it's work.", "The team has finished its work."),
    ("He runs more faster than me.", "He runs faster than I do."),
    ("Everyone should bring their own lunch, isn't it?", "Everyone should bring their own lunch."),
)

FORMAL: Final = (
    ("Can't make it today, sorry!", "I apologise, but I will be unable to attend today."),
    ("Send me the file ASAP.", "Could you please send me the file at your earliest convenience?"),
    ("The meeting was kind of a waste.", "The meeting was not as productive as we had hoped."),
    ("We need more cash for this.", "This project will require additional funding."),
    ("Thanks a ton for the help!", "Thank you very much for your assistance."),
)

NAMES: Final = ("Alex", "Priya", "Jordan", "Mei", "Samuel", "Fatima", "Lukas", "Ana")
MEETINGS: Final = ("project review", "budget meeting", "design workshop", "one-to-one", "demo")
DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

ACTIVITIES: Final = {
    "preparing for a job interview": (
        "Research the company and the role.",
        "Prepare short stories that show your skills.",
        "Practise answers out loud.",
        "Have questions ready for the interviewer.",
    ),
    "learning a new language": (
        "Practise a little every day.",
        "Learn the most frequent words first.",
        "Listen to native speakers.",
        "Speak early, even with mistakes.",
    ),
    "running a first marathon": (
        "Follow a gradual training plan.",
        "Build up your long run slowly.",
        "Practise eating and drinking while running.",
        "Start the race slower than you think you should.",
    ),
    "writing clear documentation": (
        "Start with what the reader wants to do.",
        "Show a working example early.",
        "Keep sentences short.",
        "Keep the docs next to the code they describe.",
    ),
}

ANIMALS: Final = {
    "dolphin": "mammal",
    "penguin": "bird",
    "crocodile": "reptile",
    "salmon": "fish",
    "bat": "mammal",
    "frog": "amphibian",
    "eagle": "bird",
    "shark": "fish",
    "tortoise": "reptile",
    "whale": "mammal",
    "salamander": "amphibian",
    "ostrich": "bird",
}

SENTENCES: Final = (
    "The quick brown fox jumps over the lazy dog",
    "Data quality matters more than data quantity",
    "Every sample should have a signed lineage record",
    "A small test suite run often beats a large one run rarely",
    "The library opens at nine and closes at six",
    "Rain is expected in the north by the evening",
    "Good documentation saves hours of support work",
)

TABLES: Final = (
    ("customers", "orders_count", "customer"),
    ("products", "price", "product"),
    ("employees", "salary", "employee"),
    ("invoices", "amount", "invoice"),
)

ERRORS: Final = {
    "ZeroDivisionError: division by zero": "The code divided a number by zero. Check the divisor "
    "before dividing, or catch ZeroDivisionError where a zero is possible.",
    "KeyError: 'name'": "The code looked up the key 'name' in a dictionary that does not have it. "
    "Use dict.get('name') for an optional key, or make sure the key is set first.",
    "IndexError: list index out of range": "The code asked for a list position that does not "
    "exist. Check the list's length, remembering that indexes start at 0.",
    'TypeError: can only concatenate str (not "int") to str': "The code tried to join a string "
    "and a number with +. Convert the number first, e.g. str(n), or use an f-string.",
    "ModuleNotFoundError: No module named 'requests'": "The package is not installed in the "
    "Python environment that runs the code. Install it there, e.g. pip install requests.",
}

DISHES: Final = {
    "a cup of tea": (
        "Boil fresh water.",
        "Warm the cup or pot.",
        "Add the tea and pour on the water.",
        "Steep for three to five minutes.",
        "Remove the tea and add milk or lemon if you like.",
    ),
    "scrambled eggs": (
        "Crack the eggs into a bowl and whisk them with a pinch of salt.",
        "Melt butter in a pan over low heat.",
        "Pour in the eggs and stir gently.",
        "Take the pan off the heat while the eggs are still soft.",
    ),
    "a simple salad dressing": (
        "Mix three parts olive oil with one part vinegar.",
        "Add a spoon of mustard and a little honey.",
        "Season with salt and pepper.",
        "Shake or whisk until smooth.",
    ),
}

EMAILS: Final = (
    ("Congratulations! You have won a free cruise. Click here to claim your prize now!", "spam"),
    (
        "Hi team, the release notes for version 2.3 are attached. Please review by Friday.",
        "not spam",
    ),
    ("URGENT: your account will be closed. Verify your password at this link.", "spam"),
    ("Reminder: the dentist appointment is on Tuesday at 10:00.", "not spam"),
    ("Earn $5,000 a week from home with this one weird trick!", "spam"),
    ("Could you share the slides from yesterday's talk? Thanks, Mei", "not spam"),
)

COMPARISONS: Final = {
    ("cats", "dogs"): "Cats are independent and need little space, while dogs are social, need "
    "daily walks and are easier to train. Both can be affectionate companions.",
    ("Python", "Java"): "Python is dynamically typed and concise, popular for scripting and data "
    "work; Java is statically typed and verbose, popular for large enterprise systems.",
    ("trains", "planes"): "Planes are faster over long distances, while trains go from city "
    "centre to city centre, emit far less carbon and let you work on the way.",
    ("tea", "coffee"): "Coffee has more caffeine and a stronger taste; tea has less caffeine, "
    "comes in many more varieties and is often drunk in larger amounts.",
}

DEFINITIONS: Final = {
    "ephemeral": "lasting a very short time",
    "meticulous": "showing great attention to detail",
    "ubiquitous": "present or found everywhere",
    "pragmatic": "dealing with things in a practical, realistic way",
    "resilient": "able to recover quickly from difficulties",
    "ambiguous": "open to more than one interpretation",
    "candid": "truthful and straightforward",
}

KEYWORDS: Final = {
    "renewable energy": ("solar", "wind", "storage", "batteries"),
    "remote work": ("remote work", "commuting", "collaboration", "hybrid"),
    "urban gardening": ("gardens", "produce", "rooftops", "neighbours"),
    "sleep": ("sleep", "memory", "melatonin", "schedule"),
    "electric cars": ("electric cars", "air quality", "range", "chargers"),
    "coral reefs": ("coral reefs", "marine species", "bleaching", "heat-tolerant corals"),
    "open-source software": ("open source", "libraries", "maintainers", "funding"),
}
