"""Customer search: a generated, GIN-indexed ``search_tokens`` column (see profiles/search.py).

The column is left out of the ORM model on purpose, so everyday customer queries never load it; the
identifier indexes that serve email-prefix and phone-suffix search are declared on the model.
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations, models

# Frozen copy of profiles.search.SEARCH_TOKENS_FUNCTION when this migration was written; a test checks
# that the function in the database agrees with profiles.search.search_tokens.
SEARCH_TOKENS_FUNCTION = "\nCREATE OR REPLACE FUNCTION profiles_search_tokens(first_name text, last_name text, preferred_name text)\nRETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$\n  SELECT coalesce(array_agg(DISTINCT element ORDER BY element), '{}'::text[])\n  FROM (\n    SELECT word FROM pg_catalog.regexp_split_to_table(\n      pg_catalog.lower(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.translate(\n        coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(preferred_name, ''),\n        'ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŁŃńŅņŇňŊŌōŎŏŐőŒŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƁƂƄƆƇƉƊƋƎƏƐƑƓƔƖƗƘƜƝƟƠơƢƤƦƧƩƬƮƯưƱƲƳƵƷƸƼǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǢǣǤǦǧǨǩǪǫǬǭǮǯǰǴǵǶǷǸǹǺǻǼǽǾǿȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȜȞȟȠȢȤȦȧȨȩȪȫȬȭȮȯȰȱȲȳȺȻȽȾɁɃɄɅɆɈɊɌɎḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẛẞẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹỺỼỾøđłħŧı''’ʼ', 'abcdefghijklmnopqrstuvwxyzaaaaaaæceeeeiiiiðnoooooøuuuuyþaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddđeeeeeeeeeegggggggghhħiiiiiiiiijjkkllllllłnnnnnnŋooooooœrrrrrrssssssssttttŧuuuuuuuuuuuuwwyyyzzzzzzsɓƃƅɔƈɖɗƌǝəɛƒɠɣɩɨƙɯɲɵooƣƥʀƨʃƭʈuuʊʋƴƶʒƹƽaaiioouuuuuuuuuuaaaaææǥggkkooooʒʒjggƕƿnnaaææøøaaaaeeeeiiiioooorrrruuuussttȝhhƞȣȥaaeeooooooooyyⱥȼƚⱦɂƀʉʌɇɉɋɍɏaabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmmnnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxxxyyzzzzzzhtwysßaaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiiioooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyyỻỽỿodlhti'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe')),\n      '[\\s.,;/_-]+') AS word\n    WHERE word <> ''\n  ) AS words\n  CROSS JOIN LATERAL (\n    SELECT pg_catalog.left(word, n) AS element\n    FROM pg_catalog.generate_series(least(2, pg_catalog.length(word)), least(pg_catalog.length(word), 24)) AS n\n    UNION ALL\n    SELECT '~' || word WHERE pg_catalog.length(word) BETWEEN 3 AND 24\n    UNION ALL\n    SELECT '~' || pg_catalog.left(word, n - 1) || pg_catalog.substr(word, n + 1)\n    FROM pg_catalog.generate_series(1, pg_catalog.length(word)) AS n\n    WHERE pg_catalog.length(word) BETWEEN 3 AND 24\n  ) AS elements\n$fn$;\n"

SEARCH_COLUMN = """
ALTER TABLE profiles_customer ADD COLUMN search_tokens text[]
  GENERATED ALWAYS AS (profiles_search_tokens(first_name, last_name, preferred_name)) STORED;
CREATE INDEX customer_search_tokens ON profiles_customer USING gin (search_tokens);
"""

DROP_SEARCH_COLUMN = """
ALTER TABLE profiles_customer DROP COLUMN search_tokens;
DROP FUNCTION profiles_search_tokens(text, text, text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0003_erased_identifier_tombstones"),
    ]

    operations = [
        migrations.RunSQL(SEARCH_TOKENS_FUNCTION + SEARCH_COLUMN, DROP_SEARCH_COLUMN),
        migrations.AddIndex(
            model_name="identifier",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass("value", name="varchar_pattern_ops"),
                condition=models.Q(("kind", "email")),
                name="identifier_email_prefix",
            ),
        ),
        migrations.AddIndex(
            model_name="identifier",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Reverse("value"), name="text_pattern_ops"
                ),
                condition=models.Q(("kind", "phone")),
                name="identifier_phone_suffix",
            ),
        ),
    ]
