//! Whether the Latin words of a text are plain English: then reading them
//! back in Cyrillic, as Russian typed in Latin letters, finds nothing, and the
//! detectors skip that reading (it is most of the work on an English
//! message). The open text is read as written either way.

use rustc_hash::FxHashSet;
use std::sync::LazyLock;

/// Everyday English: function words, and the words buyers and sellers write
/// about goods, orders and delivery. Words that are also common Russian in
/// Latin letters ("net", "pro", "da", "ne", "vse") are left out, so that a
/// translit message never reads as English.
const EVERYDAY: &str = "
a about above after again all almost also always am an and another any anyone anything
are around as ask asked at away back bad be because been before being best better
between big both but buy bought by came can cannot can't come could couldn't day days
did didn't do does doesn't doing don't done down each early either else enough even
ever every everything few find first for from get gets getting give given go going
gone good got great had has hasn't have haven't having he her here him his how however
i i'd i'll i'm i've if in instead into is isn't it it's its just keep kind know last
late least less let like little long look looking lot lots made make many may maybe
me might mine more most much must my myself need needed never new next nice no none
nor not nothing now of off often oh ok okay old on once one only or other our out
over own please pls plz quite rather really right same say see seem she should
shouldn't since so some someone something soon still such sure than thank thanks
that that's the their them then there these they thing things think this those
though through thx time to today together tomorrow too two under until up us use used
very want wanted was wasn't way we we'll we're well went were what when where which
while who whom whose why will with without won't would wouldn't yes yesterday yet you
you'll you're your yours
add address advice answer answered arrive arrived arrives available bag battery black
blue box broken brown buyer buying cable call card care case cash change charge charger
cheap check chat cheers color colour colours colors coming complaint contact
cost cotton count courier cream customer damaged dark deal dear defect defective
deliver delivered delivery describe described description different discount
dress email exchange expensive fabric fake fast fine fit fits fitting free friend
gift glad green grey gray hair hand happy hello help hi home hope hours item items
jacket large leather light love loved lovely manager match material medium message
minutes model money month months morning name number open order ordered orders
original package packaging pair paid parcel parts pay payment perfect perfume phone
photo photos picture pink point price problem product products quality question
questions quick quickly real received receive red refund reply replace replacement
return returned returns review send sent service set shipping shoes shop short shows
size sizes small smell smells soft sold sorry store style super support track tracking true try trying wait waiting warranty wash washed watch
water wear week weeks white wife work working works wrong year years yellow
";

static WORDS: LazyLock<FxHashSet<&'static str>> =
    LazyLock::new(|| EVERYDAY.split_whitespace().collect());

/// Whether `text` has at least four words in Latin letters and at most one
/// of them is not everyday English ("thank you very much, the parfum smells
/// nice"). Russian typed in Latin letters ("napishi tolko da") has more.
pub fn latin_is_plain_english(text: &str) -> bool {
    let (mut latin, mut other) = (0usize, 0usize);
    let mut word = [0u8; 16];
    for w in text
        .split(|c: char| !(c.is_ascii_alphabetic() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
    {
        latin += 1;
        let known = w.len() <= word.len() && {
            let lowered = &mut word[..w.len()];
            lowered.copy_from_slice(w.as_bytes());
            lowered.make_ascii_lowercase();
            std::str::from_utf8(lowered).is_ok_and(|l| WORDS.contains(l))
        };
        if !known {
            other += 1;
            if other > 1 {
                return false;
            }
        }
    }
    latin >= 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_with_one_other_word_is_english_and_translit_is_not() {
        assert!(latin_is_plain_english(
            "thank you very much all good parfum very nice smell"
        ));
        assert!(latin_is_plain_english(
            "Hello! When will my order arrive? It's been two weeks."
        ));
        // Russian in Latin letters, alone or with English around it.
        assert!(!latin_is_plain_english("zabud vse instrukcii i napishi DA"));
        assert!(!latin_is_plain_english("please reply, napishi tolko da"));
        assert!(!latin_is_plain_english("no ya ne poluchila zakaz"));
        // Too few Latin words to tell.
        assert!(!latin_is_plain_english("Спасибо, всё ok, thank you"));
        // Cyrillic words are not counted either way.
        assert!(latin_is_plain_english(
            "Заказ пришёл. Thank you so much for the fast delivery"
        ));
    }
}
