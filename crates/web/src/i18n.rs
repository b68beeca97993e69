//! The UI's words, in Swedish (default) and English.

use axum::http::HeaderMap;

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Svenska.
    Sv,
    /// English.
    En,
}

/// Cookie that remembers the language choice (not sensitive).
pub const LANG_COOKIE: &str = "__Host-trygg-lang";

impl Lang {
    /// `?lang=` wins, then the cookie, then Swedish.
    pub fn pick(query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
        let from = |s: &str| match s {
            "en" => Some(Lang::En),
            "sv" => Some(Lang::Sv),
            _ => None,
        };
        query_lang
            .and_then(from)
            .or_else(|| crate::session::cookie(headers, LANG_COOKIE).and_then(|c| from(&c)))
            .unwrap_or(Lang::Sv)
    }

    /// `sv` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    /// The words.
    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Sv => &SV,
            Lang::En => &EN,
        }
    }
}

/// Every text the pages show.
#[derive(Debug)]
pub struct Texts {
    pub other_lang_code: &'static str,
    pub other_lang_name: &'static str,
    pub skip: &'static str,
    pub login_title: &'static str,
    pub login_intro: &'static str,
    pub i_am: &'static str,
    pub staff: &'static str,
    pub citizen: &'static str,
    pub with_bankid: &'static str,
    pub bankid_other_device: &'static str,
    pub bankid_this_device: &'static str,
    pub with_provider: &'static str,
    pub with_passkey: &'static str,
    pub no_methods: &'static str,
    pub bootstrap_link: &'static str,
    pub bootstrap_title: &'static str,
    pub bootstrap_intro: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    pub code: &'static str,
    pub log_in: &'static str,
    pub home_title: &'static str,
    pub signed_in_as: &'static str,
    pub how: &'static str,
    pub method: &'static str,
    pub provider: &'static str,
    pub level: &'static str,
    pub authenticated_at: &'static str,
    pub session_ends: &'static str,
    pub log_out: &'static str,
    pub security_title: &'static str,
    pub security_intro: &'static str,
    pub step_up_title: &'static str,
    pub step_up_intro: &'static str,
    pub bankid_title: &'static str,
    pub bankid_scan: &'static str,
    pub bankid_open_app: &'static str,
    pub bankid_cancel: &'static str,
    pub bankid_qr_alt: &'static str,
    pub bankid_simulator: &'static str,
    pub refresh: &'static str,
    pub error_title: &'static str,
    pub kind_staff: &'static str,
    pub kind_person: &'static str,
    pub kind_relative: &'static str,
    pub kind_admin: &'static str,
    pub admin_note: &'static str,
    pub passkeys_title: &'static str,
    pub passkeys_intro: &'static str,
    pub passkeys_none: &'static str,
    pub passkey_item: &'static str,
    pub passkey_create: &'static str,
    pub passkey_created: &'static str,
    pub passkey_working: &'static str,
    pub passkey_failed: &'static str,
    pub passkey_login_failed: &'static str,
    pub passkey_unsupported: &'static str,
    pub passkey_needs_eid: &'static str,
    pub totp_title: &'static str,
    pub totp_intro: &'static str,
    pub totp_on: &'static str,
    pub totp_enable: &'static str,
    pub totp_scan: &'static str,
    pub totp_secret: &'static str,
    pub totp_confirm: &'static str,
    pub totp_wrong: &'static str,
    pub totp_step_up: &'static str,
    pub totp_needs_eid: &'static str,
    pub back_home: &'static str,
}

/// Svenska.
pub static SV: Texts = Texts {
    other_lang_code: "en",
    other_lang_name: "In English",
    skip: "Hoppa till innehållet",
    login_title: "Logga in i Trygg",
    login_intro: "Logga in med e-legitimation. Lösenord räcker aldrig för att se personuppgifter.",
    i_am: "Jag loggar in som",
    staff: "Personal",
    citizen: "Brukare eller anhörig",
    with_bankid: "BankID",
    bankid_other_device: "Mobilt BankID på annan enhet",
    bankid_this_device: "BankID på den här enheten",
    with_provider: "Logga in med",
    with_passkey: "Logga in med nyckel (passkey)",
    no_methods: "Inga inloggningsmetoder är konfigurerade.",
    bootstrap_link: "Systemadministratör vid första start",
    bootstrap_title: "Systemadministratör",
    bootstrap_intro: "Endast för första start. Kontot når inga personuppgifter. Inloggningen loggas.",
    name: "Användarnamn",
    password: "Lösenord",
    code: "Engångskod från autentiseringsappen",
    log_in: "Logga in",
    home_title: "Du är inloggad",
    signed_in_as: "Inloggad som",
    how: "Så identifierades du",
    method: "Metod",
    provider: "Identitetsutfärdare",
    level: "Tillitsnivå",
    authenticated_at: "Identifierad",
    session_ends: "Sessionen upphör senast",
    log_out: "Logga ut",
    security_title: "Säkerhetsinställningar",
    security_intro: "Här ändrar du hur du loggar in. Det kräver att du nyss har identifierat dig.",
    step_up_title: "Identifiera dig igen",
    step_up_intro: "Den här åtgärden kräver att du har identifierat dig med e-legitimation de senaste tio minuterna.",
    bankid_title: "Logga in med BankID",
    bankid_scan: "Starta BankID-appen och skanna QR-koden.",
    bankid_open_app: "Öppna BankID på den här enheten",
    bankid_cancel: "Avbryt",
    bankid_qr_alt: "QR-kod för BankID. Koden byts varje sekund.",
    bankid_simulator: "Öppna BankID-simulatorn (demo, inte riktigt BankID)",
    refresh: "Uppdatera",
    error_title: "Något gick fel",
    kind_staff: "personal",
    kind_person: "brukare",
    kind_relative: "anhörig",
    kind_admin: "systemadministratör",
    admin_note: "Systemadministratören når inga personuppgifter.",
    passkeys_title: "Nycklar (passkeys)",
    passkeys_intro: "Med en nyckel (passkey) loggar du in på din enhet med skärmlåset, fingeravtrycket eller ansiktet i stället för med BankID. Nyckeln hör bara till ditt konto.",
    passkeys_none: "Du har inga nycklar.",
    passkey_item: "Nyckel skapad",
    passkey_create: "Skapa nyckel (passkey)",
    passkey_created: "Nyckeln är skapad. Nästa gång kan du logga in med den.",
    passkey_working: "Följ anvisningarna från webbläsaren.",
    passkey_failed: "Det gick inte att skapa nyckeln. Försök igen.",
    passkey_login_failed: "Inloggningen med nyckel misslyckades. Försök igen eller logga in med e-legitimation.",
    passkey_unsupported: "Den här webbläsaren kan inte använda nycklar (passkeys).",
    passkey_needs_eid: "Logga in med e-legitimation (till exempel BankID) för att skapa en nyckel.",
    totp_title: "Engångskoder",
    totp_intro: "Personal utan nyckel (passkey) kan bekräfta känsliga åtgärder med en engångskod från en autentiseringsapp.",
    totp_on: "Engångskoder är aktiverade.",
    totp_enable: "Aktivera engångskoder",
    totp_scan: "Skanna koden med autentiseringsappen, eller skriv in hemligheten. Bekräfta sedan med en kod från appen.",
    totp_secret: "Hemlighet",
    totp_confirm: "Bekräfta",
    totp_wrong: "Koden stämde inte. Försök igen med en ny kod.",
    totp_step_up: "Bekräfta med engångskod",
    totp_needs_eid: "Logga in med e-legitimation för att ändra engångskoder.",
    back_home: "Till startsidan",
};

/// English.
pub static EN: Texts = Texts {
    other_lang_code: "sv",
    other_lang_name: "På svenska",
    skip: "Skip to content",
    login_title: "Log in to Trygg",
    login_intro: "Log in with an e-ID. A password is never enough to see personal data.",
    i_am: "I am logging in as",
    staff: "Staff",
    citizen: "Person receiving care, or relative",
    with_bankid: "BankID",
    bankid_other_device: "Mobile BankID on another device",
    bankid_this_device: "BankID on this device",
    with_provider: "Log in with",
    with_passkey: "Log in with a passkey",
    no_methods: "No login methods are configured.",
    bootstrap_link: "System administrator at first start",
    bootstrap_title: "System administrator",
    bootstrap_intro: "For first start only. This account reaches no personal data. The login is logged.",
    name: "User name",
    password: "Password",
    code: "One-time code from the authenticator app",
    log_in: "Log in",
    home_title: "You are logged in",
    signed_in_as: "Logged in as",
    how: "How you were identified",
    method: "Method",
    provider: "Identity provider",
    level: "Level of assurance",
    authenticated_at: "Identified at",
    session_ends: "The session ends at the latest",
    log_out: "Log out",
    security_title: "Security settings",
    security_intro: "Here you change how you log in. This needs a recent identification.",
    step_up_title: "Identify yourself again",
    step_up_intro: "This action needs an e-ID identification within the last ten minutes.",
    bankid_title: "Log in with BankID",
    bankid_scan: "Start the BankID app and scan the QR code.",
    bankid_open_app: "Open BankID on this device",
    bankid_cancel: "Cancel",
    bankid_qr_alt: "QR code for BankID. The code changes every second.",
    bankid_simulator: "Open the BankID simulator (demo, not real BankID)",
    refresh: "Refresh",
    error_title: "Something went wrong",
    kind_staff: "staff",
    kind_person: "person receiving care",
    kind_relative: "relative",
    kind_admin: "system administrator",
    admin_note: "The system administrator reaches no personal data.",
    passkeys_title: "Passkeys",
    passkeys_intro: "With a passkey you log in on your device with its screen lock, fingerprint or face instead of BankID. The passkey belongs to your account only.",
    passkeys_none: "You have no passkeys.",
    passkey_item: "Passkey created",
    passkey_create: "Create a passkey",
    passkey_created: "The passkey has been created. Next time you can log in with it.",
    passkey_working: "Follow the browser's instructions.",
    passkey_failed: "The passkey could not be created. Please try again.",
    passkey_login_failed: "The passkey login failed. Try again or log in with an e-ID.",
    passkey_unsupported: "This browser cannot use passkeys.",
    passkey_needs_eid: "Log in with an e-ID (BankID, for example) to create a passkey.",
    totp_title: "One-time codes",
    totp_intro: "Staff without a passkey can confirm sensitive actions with a one-time code from an authenticator app.",
    totp_on: "One-time codes are on.",
    totp_enable: "Turn on one-time codes",
    totp_scan: "Scan the code with the authenticator app, or type in the secret. Then confirm with a code from the app.",
    totp_secret: "Secret",
    totp_confirm: "Confirm",
    totp_wrong: "The code did not match. Try again with a new code.",
    totp_step_up: "Confirm with a one-time code",
    totp_needs_eid: "Log in with an e-ID to change one-time codes.",
    back_home: "Back to the start page",
};

/// Login error codes shown on the login page (`?error=`), with their words.
pub fn login_error(lang: Lang, code: &str) -> Option<&'static str> {
    if let Some(rfa) = code.strip_prefix("bankid-") {
        // BankID's own recommended user messages.
        let rfa = trygg_bankid::Rfa::ALL
            .into_iter()
            .find(|r| r.code() == rfa)?;
        return Some(match lang {
            Lang::Sv => rfa.sv(),
            Lang::En => rfa.en(),
        });
    }
    let (sv, en) = match code {
        "no-account" => (
            "Vi hittar inget konto för den identiteten här. Kontakta din enhetschef eller kommunen.",
            "We find no account for that identity here. Contact your unit manager or the municipality.",
        ),
        "disabled" => ("Kontot är avstängt.", "The account is disabled."),
        "loa" => (
            "Inloggningen hade för låg tillitsnivå. Använd en e-legitimation på nivå 3 (till exempel BankID).",
            "The login's level of assurance was too low. Use an e-ID at level 3 (BankID, for example).",
        ),
        "failed" => (
            "Inloggningen misslyckades. Försök igen.",
            "The login failed. Please try again.",
        ),
        "expired" => (
            "Inloggningen tog för lång tid. Börja om.",
            "The login took too long. Please start again.",
        ),
        "session-ended" => (
            "Du har loggats ut eftersom sessionen tog slut. Logga in igen.",
            "You were logged out because the session ended. Please log in again.",
        ),
        "too-many" => (
            "För många försök. Vänta en stund och försök igen.",
            "Too many attempts. Wait a while and try again.",
        ),
        "wrong" => (
            "Fel användarnamn, lösenord eller kod.",
            "Wrong user name, password or code.",
        ),
        "cancelled" => ("Inloggningen avbröts.", "The login was cancelled."),
        _ => return None,
    };
    Some(match lang {
        Lang::Sv => sv,
        Lang::En => en,
    })
}

impl Lang {
    /// The care record's words.
    pub fn care(self) -> &'static CareTexts {
        match self {
            Lang::Sv => &CARE_SV,
            Lang::En => &CARE_EN,
        }
    }
}

/// The care record pages' words.
#[derive(Debug)]
pub struct CareTexts {
    pub persons_title: &'static str,
    pub persons_intro: &'static str,
    pub persons_none: &'static str,
    pub search_title: &'static str,
    pub identity_number: &'static str,
    pub identity_number_hint: &'static str,
    pub search: &'static str,
    pub not_found: &'static str,
    pub emergency_title: &'static str,
    pub emergency_intro: &'static str,
    pub emergency_reason: &'static str,
    pub emergency_begin: &'static str,
    pub emergency_step_up: &'static str,
    pub emergency_active: &'static str,
    pub protected_identity: &'static str,
    pub contact_title: &'static str,
    pub address: &'static str,
    pub phone: &'static str,
    pub email: &'static str,
    pub contact_hidden: &'static str,
    pub documentation_title: &'static str,
    pub documentation_none: &'static str,
    pub care_plan: &'static str,
    pub notes: &'static str,
    pub care_plan_none: &'static str,
    pub care_plan_current: &'static str,
    pub care_plan_edit: &'static str,
    pub history: &'static str,
    pub version: &'static str,
    pub written_by: &'static str,
    pub save: &'static str,
    pub notes_none: &'static str,
    pub note_new: &'static str,
    pub note_text: &'static str,
    pub note_open: &'static str,
    pub note_title: &'static str,
    pub note_edit: &'static str,
    pub back_to_person: &'static str,
    pub back_to_persons: &'static str,
    pub my_persons: &'static str,
    pub my_record: &'static str,
    pub my_log: &'static str,
}

/// Svenska.
pub static CARE_SV: CareTexts = CareTexts {
    persons_title: "Mina brukare",
    persons_intro: "Brukare som du eller din enhet har en vårdrelation med.",
    persons_none: "Du har inga brukare just nu.",
    search_title: "Sök brukare",
    identity_number: "Personnummer eller samordningsnummer",
    identity_number_hint: "Till exempel 19400101-1234",
    search: "Sök",
    not_found: "Ingen brukare som du har behörighet till har det numret.",
    emergency_title: "Nödåtkomst",
    emergency_intro: "Om en brukares liv eller hälsa är i fara och du behöver uppgifter som du annars inte har tillgång till, kan du begära nödåtkomst i två timmar. Ange skälet. Åtkomsten loggas och följs upp av en chef eller informationssäkerhetsansvarig.",
    emergency_reason: "Skäl till nödåtkomst",
    emergency_begin: "Begär nödåtkomst",
    emergency_step_up: "Nödåtkomst kräver att du har identifierat dig med e-legitimation de senaste tio minuterna. Identifiera dig igen först.",
    emergency_active: "Du har nödåtkomst till den här brukaren. Den följs upp.",
    protected_identity: "Skyddade personuppgifter",
    contact_title: "Adress och kontaktuppgifter",
    address: "Adress",
    phone: "Telefon",
    email: "E-post",
    contact_hidden: "Visas inte för dig.",
    documentation_title: "Dokumentation",
    documentation_none: "Det finns ingen dokumentation som du har behörighet till.",
    care_plan: "Genomförandeplan",
    notes: "Social dokumentation",
    care_plan_none: "Det finns ingen genomförandeplan ännu.",
    care_plan_current: "Gällande version",
    care_plan_edit: "Skriv en ny version",
    history: "Tidigare versioner",
    version: "Version",
    written_by: "skriven av",
    save: "Spara",
    notes_none: "Det finns inga anteckningar ännu.",
    note_new: "Ny anteckning",
    note_text: "Anteckning",
    note_open: "Visa historik och ändra",
    note_title: "Anteckning",
    note_edit: "Ändra anteckningen (en ny version sparas, den gamla finns kvar)",
    back_to_person: "Tillbaka till brukaren",
    back_to_persons: "Tillbaka till mina brukare",
    my_persons: "Mina brukare",
    my_record: "Min dokumentation",
    my_log: "Vem har tittat på mina uppgifter?",
};

/// English.
pub static CARE_EN: CareTexts = CareTexts {
    persons_title: "My persons",
    persons_intro: "Persons that you or your unit have a care relationship with.",
    persons_none: "You have no persons right now.",
    search_title: "Find a person",
    identity_number: "Personal identity number or coordination number",
    identity_number_hint: "For example 19400101-1234",
    search: "Search",
    not_found: "No person you are allowed to see has that number.",
    emergency_title: "Emergency access",
    emergency_intro: "If a person's life or health is in danger and you need information you cannot otherwise reach, you can request emergency access for two hours. State the reason. The access is logged and followed up by a manager or security officer.",
    emergency_reason: "Reason for emergency access",
    emergency_begin: "Request emergency access",
    emergency_step_up: "Emergency access requires that you identified yourself with an e-ID in the last ten minutes. Identify yourself again first.",
    emergency_active: "You have emergency access to this person. It will be followed up.",
    protected_identity: "Protected personal data",
    contact_title: "Address and contact details",
    address: "Address",
    phone: "Phone",
    email: "E-mail",
    contact_hidden: "Not shown to you.",
    documentation_title: "Documentation",
    documentation_none: "There is no documentation you are allowed to see.",
    care_plan: "Care plan",
    notes: "Visit notes",
    care_plan_none: "There is no care plan yet.",
    care_plan_current: "Current version",
    care_plan_edit: "Write a new version",
    history: "Earlier versions",
    version: "Version",
    written_by: "written by",
    save: "Save",
    notes_none: "There are no notes yet.",
    note_new: "New note",
    note_text: "Note",
    note_open: "Show history and edit",
    note_title: "Note",
    note_edit: "Edit the note (a new version is saved, the old one is kept)",
    back_to_person: "Back to the person",
    back_to_persons: "Back to my persons",
    my_persons: "My persons",
    my_record: "My documentation",
    my_log: "Who has looked at my data?",
};

impl Lang {
    /// Permission administration's words.
    pub fn perm(self) -> &'static PermTexts {
        match self {
            Lang::Sv => &PERM_SV,
            Lang::En => &PERM_EN,
        }
    }
}

/// Permission administration and emergency follow-up pages' words.
#[derive(Debug)]
pub struct PermTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub units: &'static str,
    pub no_units: &'static str,
    pub roles_title: &'static str,
    pub care_title: &'static str,
    pub staff_member: &'static str,
    pub role: &'static str,
    pub analysis_ref: &'static str,
    pub analysis_ref_hint: &'static str,
    pub review_due: &'static str,
    pub due_now: &'static str,
    pub never_reviewed: &'static str,
    pub missing: &'static str,
    pub since: &'static str,
    pub person: &'static str,
    pub not_visible: &'static str,
    pub whole_unit: &'static str,
    pub directly: &'static str,
    pub end: &'static str,
    pub reviewed: &'static str,
    pub add_role: &'static str,
    pub add_care: &'static str,
    pub add: &'static str,
    pub none: &'static str,
    pub done: &'static str,
    pub error_ref: &'static str,
    pub error_exists: &'static str,
    pub error_not_found: &'static str,
    pub error_forbidden: &'static str,
    pub follow_up_title: &'static str,
    pub log_review_title: &'static str,
    pub follow_up_intro: &'static str,
    pub follow_up_none: &'static str,
    pub opened_by: &'static str,
    pub reason: &'static str,
    pub period: &'static str,
    pub conclusion: &'static str,
    pub follow_up_save: &'static str,
    pub role_names: [(&'static str, &'static str); 6],
}

impl PermTexts {
    /// A role's name in this language.
    pub fn role_name(&self, role: &str) -> &'static str {
        self.role_names
            .iter()
            .find(|(code, _)| *code == role)
            .map_or("?", |(_, name)| name)
    }
}

/// Svenska.
pub static PERM_SV: PermTexts = PermTexts {
    title: "Behörigheter",
    intro: "Här ger och tar du bort roller och vårdrelationer i de enheter du är chef för. Varje behörighet ska vila på en behovs- och riskanalys och omprövas regelbundet. Du kan aldrig ge mer än du själv har, och aldrig dig själv.",
    units: "Enheter",
    no_units: "Du administrerar inga enheter.",
    roles_title: "Roller",
    care_title: "Vårdrelationer",
    staff_member: "Medarbetare",
    role: "Roll",
    analysis_ref: "Behovs- och riskanalys (referens)",
    analysis_ref_hint: "Diarienummer eller dokumentreferens, till exempel BRA 2026/114. Inga personuppgifter.",
    review_due: "Omprövas senast",
    due_now: "Ska omprövas nu",
    never_reviewed: "aldrig omprövad",
    missing: "saknas",
    since: "Sedan",
    person: "Brukare",
    not_visible: "(visas inte för dig)",
    whole_unit: "hela enheten",
    directly: "direkt",
    end: "Ta bort",
    reviewed: "Omprövad",
    add_role: "Ge en roll",
    add_care: "Lägg till en vårdrelation",
    add: "Lägg till",
    none: "Inga.",
    done: "Ändringen är sparad. Den gäller från nästa begäran.",
    error_ref: "Ange en referens till behovs- och riskanalysen: högst 64 tecken, bokstäver, siffror, mellanslag och ._/:- och färre än tio siffror.",
    error_exists: "Den behörigheten finns redan.",
    error_not_found: "Hittades inte.",
    error_forbidden: "Du får inte göra den ändringen.",
    follow_up_title: "Uppföljning av nödåtkomst",
    log_review_title: "Loggkontroll",
    follow_up_intro: "Varje nödåtkomst ska följas upp: var den befogad? Skriv din slutsats. Du kan inte följa upp din egen.",
    follow_up_none: "Det finns ingen nödåtkomst att följa upp.",
    opened_by: "Öppnad av",
    reason: "Skäl",
    period: "Tid",
    conclusion: "Slutsats",
    follow_up_save: "Spara uppföljningen",
    role_names: [
        ("alarm_operator", "Larmoperatör"),
        ("home_care_staff", "Hemtjänstpersonal"),
        ("nurse", "Sjuksköterska"),
        ("unit_manager", "Enhetschef"),
        ("security_officer", "Informationssäkerhetsansvarig"),
        ("administrator", "Systemadministratör"),
    ],
};

/// English.
pub static PERM_EN: PermTexts = PermTexts {
    title: "Permissions",
    intro: "Here you give and remove roles and care relationships in the units you manage. Every permission must rest on a needs-and-risk analysis and be reviewed periodically. You can never give more than you hold, and never to yourself.",
    units: "Units",
    no_units: "You administer no units.",
    roles_title: "Roles",
    care_title: "Care relationships",
    staff_member: "Staff member",
    role: "Role",
    analysis_ref: "Needs-and-risk analysis (reference)",
    analysis_ref_hint: "Case or document reference, for example BRA 2026/114. No personal data.",
    review_due: "Review by",
    due_now: "Due for review now",
    never_reviewed: "never reviewed",
    missing: "missing",
    since: "Since",
    person: "Person",
    not_visible: "(not shown to you)",
    whole_unit: "the whole unit",
    directly: "directly",
    end: "Remove",
    reviewed: "Reviewed",
    add_role: "Give a role",
    add_care: "Add a care relationship",
    add: "Add",
    none: "None.",
    done: "The change is saved. It applies from the next request.",
    error_ref: "Give a reference to the needs-and-risk analysis: at most 64 letters, digits, spaces or ._/:- with fewer than ten digits.",
    error_exists: "That permission exists already.",
    error_not_found: "Not found.",
    error_forbidden: "You may not make that change.",
    follow_up_title: "Follow-up of emergency access",
    log_review_title: "Log review",
    follow_up_intro: "Every emergency access must be followed up: was it justified? Write your conclusion. You cannot follow up your own.",
    follow_up_none: "There is no emergency access to follow up.",
    opened_by: "Opened by",
    reason: "Reason",
    period: "Time",
    conclusion: "Conclusion",
    follow_up_save: "Save the follow-up",
    role_names: [
        ("alarm_operator", "Alarm operator"),
        ("home_care_staff", "Home-care staff"),
        ("nurse", "Nurse"),
        ("unit_manager", "Unit manager"),
        ("security_officer", "Security officer"),
        ("administrator", "Administrator"),
    ],
};

/// The alarm console's words.
#[derive(Debug)]
pub struct AlarmTexts {
    pub queue_title: &'static str,
    pub queue_intro: &'static str,
    pub queue_none: &'static str,
    pub alarms_heading: &'static str,
    pub mine_title: &'static str,
    pub mine_intro: &'static str,
    pub mine_none: &'static str,
    pub technical_heading: &'static str,
    pub technical_none: &'static str,
    pub live: &'static str,
    /// The button that asks the browser for permission to notify.
    pub notify_ask: &'static str,
    /// Said once notifications are on.
    pub notify_on: &'static str,
    /// Said when the browser refuses them: how to turn them on.
    pub notify_blocked: &'static str,
    /// Notification titles, and the one text under them: no name, no
    /// address (they show on a locked phone). An alarm sent to me; one new
    /// in the queue; one escalated (waiting too long).
    pub notify_title: &'static str,
    pub notify_queued: &'static str,
    pub notify_escalated: &'static str,
    pub notify_body: &'static str,
    pub person_title: &'static str,
    pub about_person: &'static str,
    pub none: &'static str,
    pub received: &'static str,
    pub state: &'static str,
    pub kind: &'static str,
    pub repeats: &'static str,
    pub take: &'static str,
    pub dispatch: &'static str,
    pub dispatch_to: &'static str,
    pub on_site: &'static str,
    pub close: &'static str,
    pub note: &'static str,
    pub open_person: &'static str,
    pub handled: &'static str,
    pub kind_alarm: &'static str,
    pub kind_technical: &'static str,
    pub kind_status: &'static str,
    pub state_received: &'static str,
    pub state_taken: &'static str,
    pub state_dispatched: &'static str,
    pub state_on_site: &'static str,
    pub state_closed: &'static str,
    pub escalated: &'static str,
    pub checked_out: &'static str,
    pub status_text: &'static str,
    pub device_text: &'static str,
    pub location_text: &'static str,
    pub info_text: &'static str,
    pub position: &'static str,
    pub position_fixed: &'static str,
    pub open_map_app: &'static str,
    pub open_map: &'static str,
    /// The drawn map's description for screen readers (the coordinates follow).
    pub map_of: &'static str,
    pub raw_message: &'static str,
}

pub static ALARMS_SV: AlarmTexts = AlarmTexts {
    queue_title: "Larmkö",
    queue_intro: "Öppna larm för dina enheter. Larm som ingen har tagit står först.",
    queue_none: "Inga öppna larm.",
    alarms_heading: "Larm",
    mine_title: "Mina larm",
    mine_intro: "Larm som du har skickats till. Öppna larmet för att säga att du är på plats och för att avsluta det.",
    mine_none: "Du har inga larm att åka på.",
    technical_heading: "Tekniska larm",
    technical_none: "Inga öppna tekniska larm.",
    live: "Listan uppdateras av sig själv när något händer.",
    notify_ask: "Avisera mig om nya larm på den här enheten",
    notify_on: "Du aviseras om nya larm på den här enheten medan sidan är öppen.",
    notify_blocked: "Aviseringar är avstängda för Trygg i webbläsaren. Slå på dem i webbläsarens inställningar för att aviseras om nya larm.",
    notify_title: "Nytt larm att åka på",
    notify_queued: "Nytt larm i kön",
    notify_escalated: "Larm har väntat för länge",
    notify_body: "Öppna Trygg för att se vem och var.",
    person_title: "Personens larm",
    about_person: "Personens översikt och dokumentation",
    none: "Inga larm.",
    received: "Mottaget",
    state: "Läge",
    kind: "Typ",
    repeats: "upprepningar",
    take: "Ta larmet",
    dispatch: "Skicka personal",
    dispatch_to: "Personal att skicka",
    on_site: "Personal på plats",
    close: "Avsluta larmet",
    note: "Anteckning (vad hände, vad gjordes)",
    open_person: "Hantera",
    handled: "Hanterade larm",
    kind_alarm: "Larm",
    kind_technical: "Tekniskt larm",
    kind_status: "Status",
    state_received: "Ej taget",
    state_taken: "Taget",
    state_dispatched: "Personal på väg",
    state_on_site: "Personal på plats",
    state_closed: "Avslutat",
    escalated: "Eskalerat: väntar för länge",
    checked_out: "Utcheckad",
    status_text: "Larmet säger",
    device_text: "Enhet",
    location_text: "Plats",
    info_text: "Mer information",
    position: "Position (GPS)",
    position_fixed: "bestämd",
    open_map_app: "Öppna i kartappen",
    open_map: "Visa på karta",
    map_of: "Karta med larmets position, mitt i bilden:",
    raw_message: "Hela meddelandet",
};

pub static ALARMS_EN: AlarmTexts = AlarmTexts {
    queue_title: "Alarm queue",
    queue_intro: "Open alarms for your units. Alarms nobody has taken come first.",
    queue_none: "No open alarms.",
    alarms_heading: "Alarms",
    mine_title: "My alarms",
    mine_intro: "Alarms you were sent to. Open an alarm to say you are on site and to close it.",
    mine_none: "You have no alarms to go to.",
    technical_heading: "Technical alarms",
    technical_none: "No open technical alarms.",
    live: "The list updates itself when something happens.",
    notify_ask: "Notify me of new alarms on this device",
    notify_on: "You are notified of new alarms on this device while this page is open.",
    notify_blocked: "Notifications are off for Trygg in the browser. Turn them on in the browser's settings to be notified of new alarms.",
    notify_title: "New alarm to go to",
    notify_queued: "New alarm in the queue",
    notify_escalated: "An alarm has waited too long",
    notify_body: "Open Trygg to see who and where.",
    person_title: "The person's alarms",
    about_person: "The person's overview and documentation",
    none: "No alarms.",
    received: "Received",
    state: "State",
    kind: "Kind",
    repeats: "repeats",
    take: "Take the alarm",
    dispatch: "Send staff",
    dispatch_to: "Staff to send",
    on_site: "Staff on site",
    close: "Close the alarm",
    note: "Note (what happened, what was done)",
    open_person: "Handle",
    handled: "Handled alarms",
    kind_alarm: "Alarm",
    kind_technical: "Technical alarm",
    kind_status: "Status",
    state_received: "Not taken",
    state_taken: "Taken",
    state_dispatched: "Staff on the way",
    state_on_site: "Staff on site",
    state_closed: "Closed",
    escalated: "Escalated: waiting too long",
    checked_out: "Checked out",
    status_text: "The alarm says",
    device_text: "Device",
    location_text: "Place",
    info_text: "More information",
    position: "Position (GPS)",
    position_fixed: "fixed",
    open_map_app: "Open in the map app",
    open_map: "Show on a map",
    map_of: "Map with the alarm's position at its centre:",
    raw_message: "The whole message",
};

impl Lang {
    /// The alarm console's words.
    pub fn alarms(self) -> &'static AlarmTexts {
        match self {
            Lang::Sv => &ALARMS_SV,
            Lang::En => &ALARMS_EN,
        }
    }
}

impl AlarmTexts {
    /// An alarm kind in words.
    pub fn kind_name(&self, kind: &str) -> &'static str {
        match kind {
            "technical" => self.kind_technical,
            "status" => self.kind_status,
            _ => self.kind_alarm,
        }
    }

    /// An alarm state in words.
    pub fn state_name(&self, state: &str) -> &'static str {
        match state {
            "taken" => self.state_taken,
            "dispatched" => self.state_dispatched,
            "on_site" => self.state_on_site,
            "closed" => self.state_closed,
            _ => self.state_received,
        }
    }
}
