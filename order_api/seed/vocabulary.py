"""Word lists the seeds build product names, brands and customer addresses from.

Every string stays within Latin-1 so that it prints on a PDF label with the built-in
Helvetica font and fits ZPL's ^CI28 (UTF-8) without surprises.
"""

BRANDS = (
    "Nordvik", "Alder & Finch", "Kestrel", "Hollow Oak", "Brightwell", "Marlowe", "Tidewater",
    "Fjellmark", "Copperleaf", "Greystone", "Lindqvist", "Saltmarsh", "Halden", "Ashbury",
    "Wrenfield", "Blackthorn", "Elmstead", "Kiln & Co", "Northpeak", "Vesterhavn", "Oakhurst",
    "Rosewood", "Tallis", "Brookline", "Ironbark", "Meadowsweet", "Fernhill", "Larchmont",
    "Caskwell", "Stonebridge", "Heron Bay", "Juniper Lane", "Quayside", "Redfern", "Thornbury",
    "Westerly", "Harrowgate", "Silverbirch", "Pinecrest", "Lowther",
)

APPAREL_COLOURS = (
    "Navy", "Black", "Charcoal", "Heather Grey", "Oat", "Ecru", "Olive", "Forest Green",
    "Burgundy", "Rust", "Mustard", "Sky Blue", "Stone", "Camel", "Petrol", "Dusty Rose",
)
HOME_COLOURS = (
    "Oat", "Sand", "Sage", "Terracotta", "Slate", "Ivory", "Moss", "Clay", "Mist Blue",
    "Graphite", "Ochre", "Blush",
)
GEAR_COLOURS = ("Black", "White", "Graphite", "Silver", "Navy", "Red", "Forest Green", "Orange")
STATIONERY_COLOURS = ("Sage", "Black", "Navy", "Coral", "Mint", "Lilac", "Kraft", "Cobalt")

LETTER_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
TROUSER_SIZES = ("W30 L32", "W32 L32", "W32 L34", "W34 L32", "W34 L34", "W36 L34")
SOCK_SIZES = ("35-38", "39-42", "43-46")
SHOE_SIZES = ("38", "39", "40", "41", "42", "43", "44", "45")

# One entry per product category. "template" is filled from "parts" (brand comes from
# BRANDS); a family of variants then spreads over colours and sizes. Dimensions are the
# packed size in mm, weight the packed weight in g: each family draws once from the ranges.
CATEGORIES = (
    {
        "code": "APP", "share": 18,
        "template": "{brand} {material} {garment}",
        "parts": {
            "material": ("Merino", "Organic Cotton", "Linen", "Cashmere Blend", "Brushed Cotton",
                         "Recycled Fleece", "Lambswool", "Cotton Pique"),
            "garment": ("Crew Sweater", "V-Neck Sweater", "Cardigan", "T-Shirt", "Long Sleeve Top",
                        "Polo Shirt", "Oxford Shirt", "Hoodie", "Zip Hoodie", "Overshirt"),
        },
        "colours": APPAREL_COLOURS, "sizes": (LETTER_SIZES,),
        "dims": ((280, 340), (220, 260), (30, 70)), "weight": (180, 650),
        "angles": "front back side detail label", "min_px": (2000, 2500),
    },
    {
        "code": "BTM", "share": 8,
        "template": "{brand} {fit} {garment}",
        "parts": {
            "fit": ("Slim", "Straight", "Relaxed", "Tapered", "Regular"),
            "garment": ("Chino Trousers", "Denim Jeans", "Cord Trousers", "Cargo Trousers",
                        "Linen Trousers", "Work Trousers"),
        },
        "colours": ("Indigo", "Black", "Olive", "Stone", "Navy", "Tobacco", "Washed Blue"),
        "sizes": (TROUSER_SIZES,),
        "dims": ((320, 380), (250, 300), (40, 70)), "weight": (380, 820),
        "angles": "front back side detail", "min_px": (2000, 2500),
    },
    {
        "code": "ACC", "share": 8,
        "template": "{brand} {item}",
        "parts": {
            "item": ("Trekking Socks", "Merino Hiking Socks", "Ankle Socks, 3 Pairs", "Wool Beanie",
                     "Ribbed Scarf", "Leather Belt", "Canvas Tote Bag", "Knitted Gloves"),
        },
        "colours": APPAREL_COLOURS, "sizes": (SOCK_SIZES, ()),
        "dims": ((150, 300), (100, 200), (20, 60)), "weight": (60, 320),
        "angles": "front back detail", "min_px": (2000, 2000),
    },
    {
        "code": "SHO", "share": 5,
        "template": "{brand} {item}",
        "parts": {
            "item": ("Leather Chelsea Boots", "Canvas Sneakers", "Trail Running Shoes",
                     "Suede Desert Boots", "Wool Slippers", "Hiking Boots"),
        },
        "colours": ("Black", "Tan", "Dark Brown", "White", "Grey", "Navy"), "sizes": (SHOE_SIZES,),
        "dims": ((320, 360), (200, 230), (110, 140)), "weight": (700, 1600),
        "angles": "front back side top sole detail", "min_px": (2400, 2000),
    },
    {
        "code": "DRK", "share": 7,
        "template": "{brand} {item} {volume}",
        "parts": {
            "item": ("Stainless Steel Water Bottle", "Insulated Travel Mug", "Glass Carafe",
                     "Vacuum Flask", "Ceramic Coffee Mug", "Double Wall Tumbler"),
            "volume": ("350 ml", "500 ml", "750 ml", "1 l"),
        },
        "colours": GEAR_COLOURS, "sizes": (),
        "dims": ((200, 320), (80, 110), (80, 110)), "weight": (250, 650),
        "angles": "front side top detail", "min_px": (2000, 2000),
    },
    {
        "code": "KIT", "share": 9,
        "template": "{brand} {item} {size}",
        "parts": {
            "item": ("Cast Iron Skillet", "Enamel Saucepan", "Stainless Steel Frying Pan",
                     "Chef's Knife", "Bread Knife", "Beech Chopping Board", "Mixing Bowl",
                     "Stoneware Baking Dish", "Carbon Steel Wok"),
            "size": ("16 cm", "20 cm", "24 cm", "28 cm", "32 cm"),
        },
        "colours": (), "sizes": (),
        "dims": ((250, 520), (160, 320), (40, 140)), "weight": (300, 3200),
        "angles": "front side top detail", "min_px": (2000, 2000),
    },
    {
        "code": "HOM", "share": 10,
        "template": "{brand} {material} {item} {size}",
        "parts": {
            "material": ("Linen", "Cotton Percale", "Waffle Cotton", "Wool", "Velvet", "Jute"),
            "item": ("Cushion Cover", "Bath Towel", "Tea Towel", "Table Runner", "Throw",
                     "Duvet Cover", "Doormat"),
            "size": ("40 x 40 cm", "50 x 50 cm", "70 x 140 cm", "135 x 200 cm", "150 x 250 cm"),
        },
        "colours": HOME_COLOURS, "sizes": (),
        "dims": ((250, 450), (200, 350), (30, 120)), "weight": (150, 1800),
        "angles": "front detail lifestyle", "min_px": (2400, 2400),
    },
    {
        "code": "ELC", "share": 9,
        "template": "{brand} {item}",
        "parts": {
            "item": ("USB-C Charging Cable 1 m", "USB-C Charging Cable 2 m", "Wireless Charging Pad 15 W",
                     "Power Bank 10000 mAh", "Power Bank 20000 mAh", "Bluetooth Speaker",
                     "In-Ear Headphones", "USB-C Wall Charger 65 W", "Laptop Sleeve 14 in",
                     "Wireless Mouse"),
        },
        "colours": GEAR_COLOURS, "sizes": (),
        "dims": ((120, 260), (80, 180), (20, 70)), "weight": (40, 480),
        "angles": "front back side detail", "min_px": (2000, 2000),
    },
    {
        "code": "STA", "share": 6,
        "template": "{brand} {item}",
        "parts": {
            "item": ("A5 Dotted Notebook", "A5 Lined Notebook", "A4 Sketchbook", "Weekly Planner",
                     "Gel Pen Set, 12 pcs", "Fineliner Set, 24 pcs", "Desk Organiser",
                     "Brass Pencil Sharpener"),
        },
        "colours": STATIONERY_COLOURS, "sizes": (),
        "dims": ((150, 310), (100, 230), (10, 40)), "weight": (40, 600),
        "angles": "front back detail", "min_px": (2000, 2000),
    },
    {
        "code": "TLS", "share": 6,
        "template": "{brand} {item}",
        "parts": {
            "item": ("Drill Bit Set, 19 pcs", "Claw Hammer 450 g", "Screwdriver Set, 8 pcs",
                     "Socket Wrench Set, 40 pcs", "Tape Measure 5 m", "Spirit Level 60 cm",
                     "Utility Knife", "Combination Pliers 180 mm"),
        },
        "colours": (), "sizes": (),
        "dims": ((150, 620), (60, 260), (30, 90)), "weight": (120, 2400),
        "angles": "front side detail", "min_px": (2000, 2000),
    },
    {
        "code": "CAR", "share": 7,
        "template": "{brand} {item} {volume}",
        "parts": {
            "item": ("Shea Butter Hand Cream", "Oat Body Lotion", "Rosemary Shampoo",
                     "Cedarwood Shower Gel", "Mineral Sunscreen SPF 30", "Lavender Bath Salts"),
            "volume": ("50 ml", "75 ml", "200 ml", "250 ml", "500 ml"),
        },
        "colours": (), "sizes": (),
        "dims": ((60, 220), (40, 80), (30, 80)), "weight": (70, 600),
        "angles": "front back detail", "min_px": (2000, 2000),
    },
    {
        "code": "TOY", "share": 4,
        "template": "{brand} {item}",
        "parts": {
            "item": ("Wooden Building Blocks, 50 pcs", "Wooden Train Set, 32 pcs", "Plush Fox",
                     "Jigsaw Puzzle, 1000 pcs", "Stacking Rings", "Marble Run, 80 pcs",
                     "Magnetic Tiles, 60 pcs"),
        },
        "colours": (), "sizes": (),
        "dims": ((150, 420), (120, 320), (60, 160)), "weight": (150, 1900),
        "angles": "front side top detail", "min_px": (2000, 2000),
    },
    {
        "code": "OUT", "share": 3,
        "template": "{brand} {item}",
        "parts": {
            "item": ("Trekking Poles 115-135 cm", "Insulated Lunch Box 1.2 l", "Camping Lantern",
                     "Packable Daypack 20 l", "Down Sleeping Bag", "Foam Sleeping Mat",
                     "Headlamp 300 lm"),
        },
        "colours": GEAR_COLOURS, "sizes": (),
        "dims": ((150, 700), (100, 250), (60, 200)), "weight": (90, 1400),
        "angles": "front back side detail", "min_px": (2000, 2000),
    },
)

FIRST_NAMES = (
    "Anna", "Jonas", "Lea", "Lukas", "Mia", "Felix", "Emma", "Paul", "Sophie", "Leon", "Hannah",
    "Noah", "Marie", "Elias", "Lina", "Finn", "Clara", "Ben", "Ida", "Jakob", "Greta", "Emil",
    "Frieda", "Theo", "Mathilda", "Oskar", "Amelie", "Anton", "Johanna", "Henri", "Nora",
    "Moritz", "Lotte", "Karl", "Marta", "Ole", "Pia", "Julian", "Selin", "Mehmet", "Aylin",
    "Tomasz", "Zofia", "Luca", "Giulia", "Sven", "Ingrid", "Pierre", "Chloé", "Björn",
)
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Braun",
    "Zimmermann", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler",
    "Maier", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung",
    "Hahn", "Vogel", "Friedrich", "Keller", "Yilmaz", "Kowalski", "Nowak", "Rossi", "Jansen",
    "Lindgren", "Dubois", "Berger", "Roth", "Beck",
)
STREETS = (
    "Lindenstraße", "Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße",
    "Goethestraße", "Am Markt", "Bergstraße", "Kirchgasse", "Rosenweg", "Mühlenweg",
    "Birkenallee", "Friedhofstraße", "Schulstraße", "Ringstraße", "Parkstraße", "Waldweg",
    "Eichendorffstraße", "Uferstraße", "Kastanienallee",
)
# (postcode, town) pairs that exist, so that the labels look right to a German courier.
TOWNS = (
    ("10115", "Berlin"), ("10437", "Berlin"), ("20095", "Hamburg"), ("22765", "Hamburg"),
    ("80331", "München"), ("81667", "München"), ("50667", "Köln"), ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"), ("40213", "Düsseldorf"), ("04109", "Leipzig"), ("01067", "Dresden"),
    ("28195", "Bremen"), ("30159", "Hannover"), ("90403", "Nürnberg"), ("44135", "Dortmund"),
    ("45127", "Essen"), ("48143", "Münster"), ("79098", "Freiburg im Breisgau"), ("24103", "Kiel"),
    ("18055", "Rostock"), ("99084", "Erfurt"), ("55116", "Mainz"), ("66111", "Saarbrücken"),
    ("93047", "Regensburg"), ("37073", "Göttingen"), ("69117", "Heidelberg"), ("26122", "Oldenburg"),
)

# What customers and the shop ask of the packer; most orders ask nothing (None).
PACKING_NOTES = (None, None, "Gift: no prices in the parcel, add the greeting card", None, None,
                 "Fragile: wrap each item in bubble wrap", None, None, None,
                 "Leave the invoice out: the customer's company pays")
