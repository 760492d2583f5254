//! Every string the web queue shows, in one place. A second language is a
//! second `Strings` value.

use serde::Serialize;

use crate::domain::{DraftState, Effect, Intent};

#[derive(Debug, Clone, Serialize)]
pub struct Strings {
    pub lang: &'static str,
    pub app_title: &'static str,
    pub queue: &'static str,
    pub status: &'static str,
    pub logout: &'static str,
    pub sound_on: &'static str,
    pub sound_off: &'static str,
    pub login_title: &'static str,
    pub login_name: &'static str,
    pub login_name_hint: &'static str,
    pub login_password: &'static str,
    pub login_button: &'static str,
    pub login_wrong: &'static str,
    pub login_too_many: &'static str,
    pub filter_shop: &'static str,
    pub filter_marketplace: &'static str,
    pub filter_intent: &'static str,
    pub filter_state: &'static str,
    pub filter_kind: &'static str,
    pub filter_any: &'static str,
    pub filter_open: &'static str,
    pub sort: &'static str,
    pub sort_age: &'static str,
    pub sort_priority: &'static str,
    pub apply: &'static str,
    pub waiting: &'static str,
    pub oldest_waiting: &'static str,
    pub nothing_waiting: &'static str,
    pub col_draft: &'static str,
    pub col_shop: &'static str,
    pub col_intent: &'static str,
    pub col_text: &'static str,
    pub col_state: &'static str,
    pub col_age: &'static str,
    pub conversation: &'static str,
    pub order: &'static str,
    pub order_unknown: &'static str,
    pub classification: &'static str,
    pub confidence: &'static str,
    pub flags: &'static str,
    pub decision: &'static str,
    pub rules: &'static str,
    pub matched: &'static str,
    pub not_matched: &'static str,
    pub floor: &'static str,
    pub guards: &'static str,
    pub no_findings: &'static str,
    pub severity_error: &'static str,
    pub severity_warning: &'static str,
    pub draft: &'static str,
    pub chars: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub reject_reason: &'static str,
    pub reject_reason_hint: &'static str,
    pub send_now: &'static str,
    pub cancel_send: &'static str,
    pub retry: &'static str,
    pub retag: &'static str,
    pub retag_button: &'static str,
    pub retagged: &'static str,
    pub retract: &'static str,
    pub retract_until: &'static str,
    pub confirm_retract: &'static str,
    pub retract_pending: &'static str,
    pub delete_answer: &'static str,
    pub confirm_delete_answer: &'static str,
    pub delete_answer_pending: &'static str,
    pub reply_deadline: &'static str,
    pub read_mark: &'static str,
    pub confirm_send: &'static str,
    pub confirm_question: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub cancel: &'static str,
    pub sends_in: &'static str,
    pub buyer: &'static str,
    pub we: &'static str,
    pub seller_elsewhere: &'static str,
    pub marketplace_msg: &'static str,
    pub history: &'static str,
    pub shortcuts: &'static str,
    pub back: &'static str,
    pub synced: &'static str,
    pub token_rejected: &'static str,
    pub rate_limited_until: &'static str,
    pub degraded: &'static str,
    pub database_failed: &'static str,
    pub starting: &'static str,
    pub paused: &'static str,
    pub reload_failed: &'static str,
    pub too_long: &'static str,
    pub empty: &'static str,
    pub done: &'static str,
    pub error: &'static str,
    pub escalated: &'static str,
    pub superseded_unseen: &'static str,
    pub nothing_here_but: &'static str,
    pub show_inbox: &'static str,
    pub dismiss: &'static str,
    pub superseded_hint: &'static str,
    pub reject_failed: &'static str,
    pub confirm_findings: &'static str,
    pub confirm_clean: &'static str,
    pub override_reason: &'static str,
    pub override_hint: &'static str,
    pub override_needed: &'static str,
    pub send_anyway: &'static str,
    pub login_expired: &'static str,
    pub offline: &'static str,
    pub saved: &'static str,
    pub saving: &'static str,
    pub save_failed: &'static str,
    pub carried_from: &'static str,
    pub typed_saved: &'static str,
    pub successor: &'static str,
    pub successor_pending: &'static str,
    pub search: &'static str,
    pub search_hint: &'static str,
    pub col_buyer: &'static str,
    pub col_reply: &'static str,
    pub col_select: &'static str,
    pub bulk_approve: &'static str,
    pub bulk_title: &'static str,
    pub bulk_blocked: &'static str,
    pub bulk_none: &'static str,
    pub bulk_done: &'static str,
    pub quick_replies: &'static str,
    pub next_draft: &'static str,
    pub queue_empty_now: &'static str,
    pub waiting_title: &'static str,
}

pub const RU: Strings = Strings {
    lang: "ru",
    app_title: "AgentIQ — ответы покупателям",
    queue: "Очередь",
    status: "Магазины",
    logout: "Выйти",
    sound_on: "Звук включён",
    sound_off: "Без звука",
    login_title: "Вход в очередь ответов",
    login_name: "Ваше имя",
    login_name_hint: "Для журнала: кто одобрил или отклонил ответ",
    login_password: "Пароль",
    login_button: "Войти",
    login_wrong: "Неверный пароль.",
    login_too_many: "Слишком много неудачных попыток. Попробуйте позже.",
    filter_shop: "Магазин",
    filter_marketplace: "Площадка",
    filter_intent: "Тема",
    filter_state: "Состояние",
    filter_kind: "Вид",
    filter_any: "Все",
    filter_open: "Ждут внимания",
    sort: "Сортировка",
    sort_age: "Сначала старые",
    sort_priority: "Сначала важные",
    apply: "Показать",
    waiting: "ждут",
    oldest_waiting: "Дольше всех ждёт",
    nothing_waiting: "Очередь пуста — все ответы отправлены или разобраны.",
    col_draft: "№",
    col_shop: "Магазин",
    col_intent: "Тема",
    col_text: "Черновик",
    col_state: "Состояние",
    col_age: "Давно ли",
    conversation: "Переписка",
    order: "Заказ",
    order_unknown: "Площадка не сообщила данные заказа.",
    classification: "Тема обращения",
    confidence: "уверенность",
    flags: "Отметки",
    decision: "Решение",
    rules: "Правила",
    matched: "сработало",
    not_matched: "не сработало",
    floor: "Защита не дала отправить автоматически",
    guards: "Проверки текста",
    no_findings: "Замечаний нет.",
    severity_error: "ошибка",
    severity_warning: "предупреждение",
    draft: "Ответ",
    chars: "символов",
    approve: "Отправить",
    reject: "Отклонить",
    reject_reason: "Почему отклоняете?",
    reject_reason_hint: "Причина поможет улучшить шаблоны и правила",
    send_now: "Отправить сейчас",
    cancel_send: "Отменить отправку",
    retry: "Повторить",
    retag: "Тема определена неверно?",
    retag_button: "Исправить тему",
    retagged: "Тему исправил человек; модель магазина учтёт исправление.",
    retract: "Удалить из чата",
    retract_until: "Площадка позволяет удалить это сообщение до",
    confirm_retract: "Удалить этот ответ из чата? Покупатель мог уже его прочитать.",
    retract_pending: "Удаляем сообщение из чата…",
    delete_answer: "Удалить ответ с площадки",
    confirm_delete_answer: "Удалить этот ответ с площадки? Его могли уже увидеть покупатели.",
    delete_answer_pending: "Удаляем ответ с площадки…",
    reply_deadline: "Площадка принимает ответ до",
    read_mark: "✓✓ прочитано",
    confirm_send: "Вы отправите:",
    confirm_question: "Отправить?",
    yes: "Да",
    no: "Отмена",
    cancel: "Отмена",
    sends_in: "уйдёт через",
    buyer: "Покупатель",
    we: "Мы",
    seller_elsewhere: "Продавец (в кабинете площадки)",
    marketplace_msg: "Площадка",
    history: "Журнал",
    shortcuts: "Клавиши (в любой раскладке): j/k — выбор, Enter или o — открыть, x — отметить, a — отправить, r — отклонить, / — поиск, Ctrl+Enter — отправить из редактора, Esc — закрыть",
    back: "← К очереди",
    synced: "обновлено",
    token_rejected: "токен отклонён",
    rate_limited_until: "ограничение запросов до",
    degraded: "площадка недоступна, повторяем",
    database_failed: "ошибка базы данных AgentIQ, повторяем",
    starting: "подключаемся",
    paused: "автоотправка приостановлена",
    reload_failed: "правка не принята, работает прежняя версия",
    too_long: "Слишком длинный ответ",
    empty: "Пустой ответ",
    done: "Готово",
    error: "Ошибка",
    escalated: "срочно",
    superseded_unseen: "устарел — покупатель написал ещё раз",
    nothing_here_but: "По этому фильтру ничего нет, но ждут внимания ещё:",
    show_inbox: "показать очередь",
    dismiss: "Убрать из очереди",
    superseded_hint: "Покупатель написал ещё раз, и вместо этого черновика готовится новый. Посмотрите, что покупатель написал, и уберите этот черновик из очереди.",
    reject_failed: "Не отправлять",
    confirm_findings: "Проверка текста нашла:",
    confirm_clean: "Проверка текста ничего не нашла.",
    override_reason: "Почему этот ответ всё же нужно отправить?",
    override_hint: "Например: возврат согласован с руководителем",
    override_needed: "Проверка нашла ошибки: напишите, почему ответ всё же нужно отправить.",
    send_anyway: "Отправить вопреки проверке",
    login_expired: "Вы вышли из очереди (сессия закончилась). Войдите снова — набранный текст сохранён и вернётся в редактор.",
    offline: "Нет связи с AgentIQ. Набранный текст сохранён в этом браузере и уйдёт на сервер, как только связь вернётся.",
    saved: "текст сохранён",
    saving: "сохраняем…",
    save_failed: "не сохранён — повторим",
    carried_from: "Сюда перенесён текст, который вы писали для черновика",
    typed_saved: "Ваш набранный текст сохранён:",
    successor: "Покупатель написал ещё раз. Продолжить в новом черновике",
    successor_pending: "Покупатель написал ещё раз; новый черновик готовится, ваш текст перейдёт в него.",
    search: "Поиск",
    search_hint: "имя покупателя, номер заказа, артикул или текст",
    col_buyer: "Покупатель написал",
    col_reply: "Наш ответ",
    col_select: "Выбрать",
    bulk_approve: "Отправить выбранные",
    bulk_title: "Вы отправите эти ответы:",
    bulk_blocked: "не уйдёт: проверка нашла ошибки — откройте черновик и решите сами",
    bulk_none: "Отметьте черновики, которые хотите отправить.",
    bulk_done: "Отправлено ответов:",
    quick_replies: "Быстрые ответы",
    next_draft: "Следующий черновик",
    queue_empty_now: "Все черновики разобраны.",
    waiting_title: "ждут",
};

pub fn state_label(s: DraftState) -> &'static str {
    match s {
        DraftState::Sending => "⏳ отправляется",
        DraftState::Sent => "✓ отправлен",
        DraftState::Failed => "⚠️ не отправлен",
        DraftState::Unknown => "⏳ проверяем доставку",
        DraftState::Pending => "ждёт вашего решения",
        other => other.label_ru(),
    }
}

pub fn effect_label(e: Effect) -> &'static str {
    crate::policy::effect_ru(e)
}

pub fn intent_label(i: Intent) -> &'static str {
    i.label_ru()
}

/// "3 мин", "2 ч 5 мин", "4 дн".
pub fn age(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..=59 => format!("{s} с"),
        60..=3599 => format!("{} мин", s / 60),
        3600..=86_399 => format!("{} ч {} мин", s / 3600, (s % 3600) / 60),
        _ => format!("{} дн", s / 86_400),
    }
}

pub fn flag_label(f: crate::domain::Flag) -> &'static str {
    use crate::domain::Flag;
    match f {
        Flag::Injection => "попытка подменить инструкции",
        Flag::SuspectedInjection => "возможно, попытка подменить инструкции",
        Flag::LegalThreat => "угроза судом",
        Flag::MarketplaceComplaint => "угроза жалобой площадке",
        Flag::Profanity => "брань",
        Flag::NegativeSentiment => "недовольство",
        Flag::ClassifierFallback => "классификатор не ответил",
        Flag::DrafterFallback => "черновик из запасного шаблона",
    }
}

/// A reason as a seller reads it: intent codes (`defect_not_working`) become
/// their Russian names and a matched pattern (`/\bбрак\w*/`) becomes the
/// word it looks for, «брак…».
pub fn plain(reason: &str) -> String {
    use std::sync::LazyLock;
    static PATTERN: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"/(?:[^/\s]|\\/)(?:[^/\n]|\\/)*/[a-z]*").expect("valid")
    });
    static CODE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]{4,}\b").expect("valid")
    });
    static ESCAPE: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\\[a-zA-Z]|\(\?[a-z]+\)").expect("valid"));
    let words = PATTERN.replace_all(reason, |c: &regex::Captures<'_>| {
        if !c[0].contains(['\\', '[', '(', '^', '|', '*', '+', '?']) {
            return c[0].to_string();
        }
        let inner = ESCAPE.replace_all(&c[0], " ");
        let word = inner
            .split(|ch: char| !ch.is_alphabetic())
            .max_by_key(|w| w.chars().count())
            .unwrap_or_default();
        if word.chars().count() < 2 {
            "«…»".to_string()
        } else {
            format!("«{word}…»")
        }
    });
    CODE.replace_all(&words, |c: &regex::Captures<'_>| {
        match c[0].parse::<Intent>() {
            Ok(i) => format!("«{}»", intent_label(i)),
            Err(_) => c[0].to_string(),
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_lose_their_codes_and_patterns() {
        assert_eq!(
            plain(r"defect_not_working — совпало: /\bбрак\w*/"),
            "«брак» — совпало: «брак…»"
        );
        assert_eq!(
            plain("тема refund_exchange всегда требует человека"),
            "тема «возврат и обмен» всегда требует человека"
        );
        assert_eq!(plain("заказ 12/05 в пути"), "заказ 12/05 в пути");
        assert_eq!(
            plain("ответ через https://example.ru/a/b"),
            "ответ через https://example.ru/a/b"
        );
    }
}
