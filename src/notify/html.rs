//! The frame every HTML email shares: a white card at most 800 px wide on a grey page, in the
//! system font, that wraps long words rather than run off a phone's screen. Owns the markup of
//! the frame only; what goes inside is the alert's or the summary's, and nothing here escapes
//! content other than the title.

use std::fmt::Write as _;

use super::escape_html;

/// The font stack of every HTML email.
pub(crate) const FONT: &str = "-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";

/// Ends what [`open_card`] opened.
pub(crate) const CARD_END: &str = "</td></tr></table>\n</td></tr></table>\n</body>\n</html>\n";

/// Writes the document head (with `title`) and the page up to the card's content cell.
pub(crate) fn open_card(out: &mut String, title: &str) {
    let _infallible = write!(
        out,
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n\
         <body style=\"margin:0;padding:0;background:#f3f4f6\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"background:#f3f4f6\"><tr><td align=\"center\" style=\"padding:16px 8px\">\n\
         <table role=\"presentation\" width=\"800\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"width:100%;max-width:800px;background:#ffffff;border:1px solid #e5e7eb\">\
         <tr><td style=\"padding:20px 24px;font-family:{FONT};font-size:14px;line-height:1.45;\
         color:#1f2328;word-wrap:break-word;overflow-wrap:break-word\">\n",
        title = escape_html(title),
    );
}
