//! The email sink: alerts as multipart text + HTML mail over SMTP (lettre), with the Message-ID
//! derived from the alert id. Only this module knows SMTP.
