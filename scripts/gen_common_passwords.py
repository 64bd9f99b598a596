"""Build services/data/common-passwords.txt offline: well-known leaked passwords and the
patterns people use when asked for a longer one (word + digits, keyboard walks, years).

Usage: python scripts/gen_common_passwords.py > services/data/common-passwords.txt
"""
import itertools, string, sys

top = """123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123
football monkey letmein shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael 654321 superman
1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh hunter buster
soccer harley batman andrew tigger sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel
starwars klaster 112233 george computer michelle jessica pepper 1111 zxcvbn 555555 11111111 131313 freedom
777777 pass maggie 159753 aaaaaa ginger princess joshua cheese amanda summer love ashley nicole chelsea
biteme matthew access yankees 987654321 dallas austin thunder taylor matrix mobilemail mom monitor
monitoring montana moon moscow william corvette hello martin heather secret fucker merlin diamond 1234qwer
gfhjkm hammer silver 222222 88888888 anthony justin test bailey q1w2e3r4t5 patrick internet scooter orange
11111 golfer cookie richard samantha bigdog guitar jackson whatever mickey chicken sparky snoopy maverick
phoenix camaro peanut morgan welcome falcon cowboy ferrari samsung andrea smokey steelers joseph mercedes
dakota arsenal eagles melissa boomer booboo spider nascar monster tigers yellow xxxxxx 123123123 gateway
marina diablo bulldog qwer1234 compaq purple hardcore banana junior hannah 123654 porsche lakers iceman
money cowboys 987654 london tennis 999999 ncc1701 coffee scooby 0000 miller boston q1w2e3r4 brandon yamaha
chester mother forever johnny edward 333333 oliver redsox player nikita knight fender barney midnight please
brandy chicago badboy slayer rangers charles angel flower bigdaddy rabbit wizard bigdick jasper enter
rachel chris steven winner adidas victoria natasha 1q2w3e4r jasmine winter prince panties marine ghbdtn
fishing cocacola casper james 232323 raiders 888888 marlboro gandalf asdfasdf crystal 87654321 12344321
golden 8675309 alexander access14 dolphin nirvana albert peaches hello123 welcome1 password1 passw0rd
p@ssword p@ssw0rd admin administrator root toor changeme default guest user login azerty azertyuiop
qwertz 1q2w3e 1qaz2wsx3edc qazwsxedc zaq12wsx 1qazxsw2 asdfghjkl zxcvbnm123 asdf1234 qwerty123 qwerty1
abcd1234 abcdef abcdefg abcdefgh abc12345 a1b2c3 a1b2c3d4 aa123456 123abc 12qwaszx iloveu iloveyou1
lovely babygirl baby loveme mylove sweety angel1 princess1 football1 monkey1 michael1 charlie1 jessica1
superstar shadow1 master1 dragon1 killer1 soccer1 baseball1 jordan23 qwertyui qwertyu 0987654321 00000000
1234554321 147258369 963852741 741852963 159357 147258 258456 123789 456789 789456 654321a 102030 10203040
11223344 112211 121314 123456a 123456q 123456z a123456 q123456 z123456 1234567a 12345678a 123456789a
minecraft pokemon naruto fortnite roblox zelda mario starwars1 batman1 spiderman ironman hulk thor avengers
liverpool manchester chelsea1 arsenal1 barcelona realmadrid juventus milan bayern psg om olympique
""".split()

french = """motdepasse mot2passe mdp azerty azertyuiop azerty123 azertyui azer1234 soleil soleil123 doudou
chouchou loulou titou toto tata titi tutu nounours bisounours doudou123 jetaime jetaime123 jtm moi toi
bonjour bonsoir coucou salut chocolat caramel vanille fraise framboise cerise pomme banane orange citron
marseille paris lyon toulouse bordeaux nantes lille nice strasbourg montpellier rennes reims dijon angers
grenoble brest tours limoges nimes avignon perpignan bayonne biarritz lourdes annecy chambery colmar
beaune macon vienne valence orleans rouen caen amiens metz nancy besancon poitiers clermont
nicolas julien camille thomas maxime alexandre antoine pierre paul jacques michel philippe francois
laurent olivier sebastien christophe stephane frederic jerome guillaume vincent mathieu romain kevin
jeremy anthony damien benjamin florian quentin lucas hugo louis leo gabriel raphael arthur jules adam
nathan enzo theo tom noah ethan mathis clement baptiste valentin alexis dylan axel bastien cedric
marie julie sophie nathalie isabelle sandrine celine stephanie christine catherine sylvie valerie
aurelie emilie caroline virginie laetitia elodie audrey melanie amandine pauline manon chloe emma lea
lena ines jade louise alice lola sarah clara zoe juliette charlotte lucie mathilde anais oceane
marion justine margaux laura morgane claire helene anne agnes brigitte monique francoise martine
dominique patricia nadine veronique corinne florence pascale chantal danielle jacqueline
maman papa mamie papi papy tonton tatie famille bebe enfant cheri cherie amour monamour mamour
bisous bisou calin chaton chaton123 minou minette moustache felix filou milou rex medor kiki
princesse poupette puce pupuce cocotte choupette choupinette lapin lapinou doudoune nana
football foot rugby tennis velo moto voiture ferrari peugeot renault citroen
vacances liberte egalite fraternite france francais bretagne normandie provence alsace corse
savoie auvergne bourgogne champagne gascogne lorraine picardie vendee
vin vigne vigneron vendange vendanges raisin bouteille cave cellier domaine chateau cuvee
bordeaux bourgogne champagne beaujolais sancerre chablis pomerol margaux pauillac medoc
merlot cabernet syrah grenache pinot chardonnay sauvignon gamay muscat riesling viognier
rouge blanc rose noir bleu vert jaune violet
boutique magasin commande client facture paiement
secret secret123 admin admin123 administrateur utilisateur bienvenue bienvenue1 connexion
internet ordinateur portable telephone iphone samsung android windows linux
dieu jesus marie allah amen paradis ange demon diable
soleil lune etoile ciel mer ocean plage montagne foret fleur rose tulipe
printemps ete automne hiver janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre
lundi mardi mercredi jeudi vendredi samedi dimanche
""".split()

english_words = """access action adidas airplane alpha amazing america angel angels animal apple apples august
austin autumn baby badger banana banker barbie basket batman beach bear beauty beaver beer bella benjamin
bitch black blessed blonde blue bluebird bond007 boobs booger boomer boston brandy bronco brooklyn brother
buddy bullet butter butterfly button buttons caesar california calvin camera canada candy captain carlos
carmen carter casino cassie castle catch cats cat celtic champion chance changeme cherry chevy chicago
chris christmas cinderella cindy classic cloud coffee college compaq cooper corona cougar country cream
cricket crystal cutie daddy dakota dancer danger darkness david death december denise destiny devil diamond
dolphin donald doctor dreams driver eagle eagles earth elephant elizabeth energy england eternity falcon
family fantasy father ferrari firebird fire fish flower flowers flying forever freedom friend friends
friendship frog funny galaxy garden genesis gemini giants girls glory golden google gordon grace green
gremlin guitar hammer happy harley harmony heaven hello hockey honey horse hotdog hunter icecream
infinity jackson jaguar january jasmine jesus johnny jordan joseph july june junior justice kitten
kitty knight ladies lakers lauren legend lemon letmein liberty light lights lion little london lovely
lucky lucky7 magic magnum marvel master maximus meadow melody mercury michigan midnight miracle monday
monster morning mountain music nathan nature newyork november ocean october olivia orange oscar
panther paradise passion patriots peace peaches peanut pebbles pepper phoenix pickle pirate planet
player please pokemon power precious princess pumpkin purple rabbit racing rainbow raven rebel
redskins remember river rocket rockstar rocky rosebud runner russia sabrina sailor samson sandra
saturn scorpion scotland secret september shadow shannon shelby silver simple skater slipknot smile
snickers snoopy snowball snowman soccer sophie sparkle spencer spirit spring star stars starlight
steelers stella stormy strawberry sugar summer sunflower sunny sunset sunshine superman surfer
sweet sweetheart sweetie swimming sydney taurus teddy teddybear tennessee texas thunder tiger tigers
tinkerbell tomcat toyota travel trinity trouble trucker tucker turtle twilight unicorn united
vampire victory viking volleyball walker warrior welcome whatever white william willow winner winter
wisdom wolf wolves wonder yankees yellow zachary zombie
""".split()

keyboard = """qwerty qwertyui qwertyuiop qwertyuiop[] asdfgh asdfghjk asdfghjkl zxcvbn zxcvbnm azerty azertyu
azertyuiop qsdfgh qsdfghjk qsdfghjklm wxcvbn wxcvbn, 1qaz2wsx 1qaz2wsx3edc 1qaz2wsx3edc4rfv qazwsx
qazwsxedc qazwsxedcrfv zaq1xsw2 zaq12wsx 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y 1q2w3e4r5t6y7u q1w2e3r4
q1w2e3r4t5 q1w2e3r4t5y6 a1z2e3r4 a1z2e3r4t5 a1z2e3r4t5y6 123qweasd 123qweasdzxc qweasdzxc qweasd
1234qwer 1234qwerasdf 1234asdf 12345qwert 123456qwerty 1234567qwertyu qwerty12345 azerty12345
poiuytreza poiuytrewq mnbvcxz lkjhgfdsa 0147258369 7894561230 1478963 14789632 147896325
9632147 36987412 15975346 1597534682 7531598246 2580 8520 456852 0123456789 9876543210
""".split()

suffixes = ["", "1", "12", "123", "1234", "123456", "123456789", "!", "2024", "2025"]
years = [str(y) for y in range(1950, 2031)]

out, seen = [], set()
def add(word):
    w = word.strip()
    if not w or " " in w:
        return
    key = w.lower()
    if key not in seen:
        seen.add(key)
        out.append(key)

for w in top + french + keyboard + english_words:
    add(w)
bases = list(dict.fromkeys(w.lower() for w in top + french + english_words if w.isalpha() and len(w) >= 4))
for w in bases[:60]:
    for y in years:
        add(w + y)
for w in bases:
    for s in suffixes:
        add(w + s)
    add(w + w)
    add("i" + "love" + w); add("jaime" + w)
for w in keyboard:
    for s in ["", "1", "12", "123", "1234", "!", "2024", "2025", "2026"]:
        add(w + s)
for c in string.ascii_lowercase + string.digits:
    for n in range(6, 21):
        add(c * n)
digits = "1234567890"
for n in range(6, 21):
    add((digits * 3)[:n]); add(("0123456789" * 3)[:n]); add(("9876543210" * 3)[:n])
for a, b in itertools.permutations("0123456789", 2):
    for n in (6, 8, 10, 12, 14, 16):
        add(((a + b) * 10)[:n])
for y in years:
    add(y); add(y * 2); add(y * 3); add("password" + y); add("motdepasse" + y); add("azerty" + y)
for w in ["password", "motdepasse", "azerty", "qwerty", "soleil", "bonjour", "jetaime", "admin", "chai",
          "vigneron", "domaine", "boutique", "welcome", "bienvenue", "letmein", "iloveyou"]:
    for s in ["123456", "1234567", "12345678", "123456789", "1234567890", "!123456", "@2024", "@2025",
              "@2026", "2024!", "2025!", "2026!", "!!!!", "00000", "azerty", "qwerty"]:
        add(w + s)
        add(w.capitalize() + s)
add("passwordpassword"); add("motdepassemotdepasse"); add("azertyazerty"); add("qwertyqwerty")
add("abcdefghijkl"); add("abcdefghijklm"); add("abcdefghijklmnop"); add("abcdefghijklmnopqrstuvwxyz")
add("abcdef123456"); add("abc123abc123"); add("123456abcdef"); add("a1b2c3d4e5f6"); add("1a2b3c4d5e6f")
add("iloveyou1234"); add("jetaimemonamour"); add("jetaimeamour"); add("monmotdepasse"); add("motdepasse1234")
add("nouveaumotdepasse"); add("changemoi"); add("changemoi123"); add("changeme123"); add("changezmoi")
add("bonjour123456"); add("doudou123456"); add("soleil123456"); add("marseille1313"); add("allezlom")
add("123456789012"); add("1234567891011"); add("12345678910"); add("0000000000000")

sys.stdout.write("# Common passwords refused at sign-up, reset and change (services/passwords.py).\n"
                 "# Built offline from well-known leaked-password lists and the patterns people use\n"
                 "# to lengthen them (word + digits or year, keyboard walks, repeats), with French ones.\n"
                 "# One per line, lower case; compared case-insensitively.\n")
for w in out:
    sys.stdout.write(w + "\n")
