//! Turns a kernel [`Email`] into an RFC 5322 message.

use crate::MailFrom;
use kernel::mail::{Email, MailError};
use lettre::Message;
use lettre::message::{Mailbox as LettreMailbox, MultiPart, SinglePart};

/// Parses the sender; a malformed address is a configuration error, hence permanent.
pub(crate) fn sender(from: &MailFrom) -> Result<LettreMailbox, MailError> {
    let address = from
        .email
        .parse()
        .map_err(|e| MailError::Permanent(format!("invalid sender address: {e}")))?;
    let name = Some(from.name.trim().to_owned()).filter(|n| !n.is_empty());
    Ok(LettreMailbox::new(name, address))
}

/// Builds the message: `multipart/alternative` (text then HTML) when there is an HTML part,
/// `text/plain` otherwise. Headers are RFC 2047-encoded by lettre, so UTF-8 subjects and names
/// survive.
pub(crate) fn build(from: &MailFrom, email: &Email) -> Result<Message, MailError> {
    let sender = sender(from)?;
    let address = email
        .to
        .email
        .parse()
        .map_err(|e| MailError::Refused(format!("invalid recipient address: {e}")))?;
    let to = LettreMailbox::new(email.to.name.clone(), address);
    // A stable id when the email has an idempotency key (a retried send is the same message);
    // only characters safe in a Message-ID's local part are kept.
    let local = match &email.message_id {
        Some(k) => k
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .take(128)
            .collect(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let message_id = format!("<{local}@{}>", sender.email.domain());
    let builder = Message::builder()
        .from(sender)
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(message_id));
    let built = match &email.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(email.text.clone())),
    };
    built.map_err(|e| MailError::Permanent(format!("cannot build message: {e}")))
}
