//! Which chats a connector that reads chat by chat (Ozon, Yandex Market,
//! Avito) reads in one poll. One planner for all of them, so the rules that
//! keep sends exactly-once and polls bounded are written and tested once:
//!
//! 1. chats with a send whose outcome is unknown come first, listed or not:
//!    their history is what proves the reply there or absent;
//! 2. then chats whose list entry moved since the marker stored last poll,
//!    in the list's order;
//! 3. then (where the list shows only chats that wait for the shop) chats
//!    that left the list, to see who answered them;
//! 4. then, when the connector asks for them, chats read only for the
//!    buyer's read receipts, taking turns across polls.
//!
//! Steps 1–3 share a cap per poll; what the cap leaves out makes the poll
//! report more work, so the next poll follows at once. Receipts never do:
//! they wait their turn. The request budget still bounds what is actually
//! read; each connector reads the plan in order until it runs out.

use std::collections::HashSet;

use crate::domain::KnownChats;

/// A chat as this poll's list showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed<'a> {
    pub chat_id: &'a str,
    /// The marker the connector stores if it reads the chat now; `None`
    /// when the list gives nothing to compare, and the chat is read.
    pub marker: Option<&'a str>,
}

/// Why a chat is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A send to it has an unknown outcome.
    Unsettled,
    /// Its list entry moved, or it is new.
    Changed,
    /// It was known, and the list (read to its end) no longer shows it.
    LeftList,
    /// Only for read receipts; it may wait for a later poll.
    Receipts,
}

/// One chat to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRead {
    pub chat_id: String,
    pub why: Why,
    /// The marketplace id of the newest message stored: read on from there.
    /// `None` when nothing is stored yet.
    pub from: Option<String>,
    /// A reply of ours there waits to be read: the newest messages are
    /// worth reading for their receipts too.
    pub receipts: bool,
}

/// How a connector reads: the parts of the plan that differ by marketplace.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules<'a> {
    /// At most this many unsettled, changed and left chats per poll.
    pub max_reads: Option<usize>,
    /// The list was read to its end (else no chat can be said to have left it).
    pub list_complete: bool,
    /// `Some(marker)`: the list shows only chats waiting for the shop, so a
    /// known chat missing from it was answered or closed. It is read once
    /// more, unless its stored marker is already `marker`.
    pub left_list: Option<&'a str>,
    /// `Some(after)`: read chats awaiting receipts this poll, starting after
    /// the chat `after` (the one checked last). `None`: not this poll.
    pub receipts: Option<Option<&'a str>>,
}

/// What to read this poll, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub reads: Vec<PlannedRead>,
    /// The cap left chats out: the next poll should follow at once.
    pub more: bool,
}

/// Plan one poll's reads from the list it got and what the store knows.
pub fn plan(listed: &[Listed<'_>], known: &KnownChats, rules: Rules<'_>) -> Plan {
    let mut listed_ids = HashSet::new();
    let listed: Vec<&Listed> = listed
        .iter()
        .filter(|l| listed_ids.insert(l.chat_id))
        .collect();
    let stored = |id: &str| known.get(id).and_then(|k| k.last_message_id.clone());
    let read = |id: &str, why| PlannedRead {
        chat_id: id.to_string(),
        why,
        from: stored(id),
        receipts: known.get(id).is_some_and(|k| k.awaiting_read),
    };

    let mut unsettled: Vec<&str> = known
        .iter()
        .filter(|(_, k)| k.unsettled_send)
        .map(|(id, _)| id.as_str())
        .collect();
    unsettled.sort_unstable();
    let mut reads: Vec<PlannedRead> = unsettled
        .iter()
        .map(|id| read(id, Why::Unsettled))
        .collect();
    let planned: HashSet<&str> = unsettled.into_iter().collect();

    for chat in &listed {
        let stored_marker = known.get(chat.chat_id).and_then(|k| k.marker.as_deref());
        let moved = chat.marker.is_none() || chat.marker != stored_marker;
        if moved && !planned.contains(chat.chat_id) {
            reads.push(read(chat.chat_id, Why::Changed));
        }
    }

    if let (Some(settled), true) = (rules.left_list, rules.list_complete) {
        let mut left: Vec<&str> = known
            .iter()
            .filter(|(id, k)| {
                !listed_ids.contains(id.as_str())
                    && !k.unsettled_send
                    && k.marker.as_deref() != Some(settled)
            })
            .map(|(id, _)| id.as_str())
            .collect();
        left.sort_unstable();
        reads.extend(left.into_iter().map(|id| read(id, Why::LeftList)));
    }

    let mut more = false;
    if let Some(cap) = rules.max_reads {
        more = reads.len() > cap;
        reads.truncate(cap);
    }

    if let Some(after) = rules.receipts {
        let taken: HashSet<String> = reads.iter().map(|r| r.chat_id.clone()).collect();
        let waiting: Vec<String> = known
            .iter()
            .filter(|(id, k)| k.awaiting_read && !taken.contains(id.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        reads.extend(
            super::limits::in_turn(waiting, after)
                .into_iter()
                .map(|id| read(&id, Why::Receipts)),
        );
    }
    Plan { reads, more }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChatMark;

    fn mark(marker: &str, last: &str) -> ChatMark {
        ChatMark {
            marker: Some(marker.into()),
            last_message_id: Some(last.into()),
            ..ChatMark::default()
        }
    }

    fn unsettled(marker: &str, last: &str) -> ChatMark {
        ChatMark {
            unsettled_send: true,
            ..mark(marker, last)
        }
    }

    fn awaiting(marker: &str, last: &str) -> ChatMark {
        ChatMark {
            awaiting_read: true,
            ..mark(marker, last)
        }
    }

    fn listed<'a>(chat_id: &'a str, marker: &'a str) -> Listed<'a> {
        Listed {
            chat_id,
            marker: Some(marker),
        }
    }

    fn known(chats: &[(&str, ChatMark)]) -> KnownChats {
        chats
            .iter()
            .map(|(id, m)| (id.to_string(), m.clone()))
            .collect()
    }

    fn summary(plan: &Plan) -> Vec<(&str, Why, Option<&str>)> {
        plan.reads
            .iter()
            .map(|r| (r.chat_id.as_str(), r.why, r.from.as_deref()))
            .collect()
    }

    #[test]
    fn unsettled_chats_come_first_then_moved_ones_in_list_order_then_receipts() {
        let known = known(&[
            ("same", mark("m1", "1")),
            ("moved", mark("m1", "2")),
            ("pending-b", unsettled("m5", "5")),
            ("pending-a", unsettled("m7", "7")),
            ("waits", awaiting("m3", "3")),
        ]);
        let list = [
            listed("same", "m1"),
            listed("moved", "m9"),
            listed("new", "m1"),
            listed("pending-b", "m5"),
        ];
        let rules = Rules {
            receipts: Some(None),
            ..Rules::default()
        };
        let plan = plan(&list, &known, rules);
        assert_eq!(
            summary(&plan),
            [
                ("pending-a", Why::Unsettled, Some("7")),
                ("pending-b", Why::Unsettled, Some("5")),
                ("moved", Why::Changed, Some("2")),
                ("new", Why::Changed, None),
                ("waits", Why::Receipts, Some("3")),
            ]
        );
        assert!(!plan.more);
    }

    #[test]
    fn a_chat_the_list_gives_no_marker_for_is_read_and_a_repeated_entry_once() {
        let known = known(&[("quiet", mark("m1", "1"))]);
        let list = [
            Listed {
                chat_id: "quiet",
                marker: None,
            },
            listed("twice", "a"),
            listed("twice", "b"),
        ];
        let plan = plan(&list, &known, Rules::default());
        assert_eq!(
            summary(&plan),
            [
                ("quiet", Why::Changed, Some("1")),
                ("twice", Why::Changed, None)
            ]
        );
    }

    #[test]
    fn the_cap_keeps_unsettled_chats_and_asks_for_another_poll() {
        let mut chats = vec![("z-pending", unsettled("m", "1"))];
        chats.extend((0..5).map(|i| (["a", "b", "c", "d", "e"][i], mark("old", "1"))));
        let known = known(&chats);
        let list: Vec<_> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|id| listed(id, "new"))
            .collect();
        let rules = Rules {
            max_reads: Some(3),
            ..Rules::default()
        };
        let plan = plan(&list, &known, rules);
        let ids: Vec<_> = plan.reads.iter().map(|r| r.chat_id.as_str()).collect();
        assert_eq!(ids, ["z-pending", "a", "b"]);
        assert!(plan.more);

        let exact = Rules {
            max_reads: Some(6),
            ..Rules::default()
        };
        assert!(!super::plan(&list, &known, exact).more);
    }

    #[test]
    fn chats_that_left_a_complete_waiting_list_are_read_once_more() {
        let known = known(&[
            ("still", mark("m1", "1")),
            ("left", mark("m1", "2")),
            ("answered", mark("answered", "3")),
            ("pending", unsettled("answered", "4")),
        ]);
        let list = [listed("still", "m1")];
        let waiting = |list_complete| Rules {
            left_list: Some("answered"),
            list_complete,
            ..Rules::default()
        };
        assert_eq!(
            summary(&plan(&list, &known, waiting(true))),
            [
                ("pending", Why::Unsettled, Some("4")),
                ("left", Why::LeftList, Some("2")),
            ]
        );
        // A list cut short proves nothing about the chats it did not show.
        assert_eq!(
            summary(&plan(&list, &known, waiting(false))),
            [("pending", Why::Unsettled, Some("4"))]
        );
        // A list that shows every chat, not just waiting ones: nothing left.
        let all = Rules {
            list_complete: true,
            ..Rules::default()
        };
        assert_eq!(plan(&list, &known, all).reads.len(), 1);
    }

    #[test]
    fn receipts_take_turns_never_ask_for_more_and_ride_along_with_other_reads() {
        let known = known(&[
            ("a", awaiting("m", "1")),
            ("b", awaiting("m", "1")),
            ("c", awaiting("m", "1")),
        ]);
        let order = |after: Option<&str>| {
            let rules = Rules {
                max_reads: Some(0),
                receipts: Some(after),
                ..Rules::default()
            };
            let plan = plan(&[], &known, rules);
            assert!(!plan.more, "receipts wait their turn");
            assert!(plan.reads.iter().all(|r| r.why == Why::Receipts));
            plan.reads
                .into_iter()
                .map(|r| r.chat_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(order(None), ["a", "b", "c"]);
        assert_eq!(order(Some("a")), ["b", "c", "a"]);
        assert!(
            plan(&[], &known, Rules::default()).reads.is_empty(),
            "not this poll"
        );

        // A chat read anyway is read for its receipts too, once.
        let list = [listed("b", "moved")];
        let rules = Rules {
            receipts: Some(None),
            ..Rules::default()
        };
        let plan = plan(&list, &known, rules);
        assert_eq!(
            summary(&plan),
            [
                ("b", Why::Changed, Some("1")),
                ("a", Why::Receipts, Some("1")),
                ("c", Why::Receipts, Some("1")),
            ]
        );
        assert!(plan.reads[0].receipts);
    }
}
