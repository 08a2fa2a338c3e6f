//! `station patient|order|worklist|study`: registration, orders and assigning studies from
//! the command line, over the same operations the API uses (`station::actions`). Changes are
//! audited with the actor `cli` (or `--actor`).

use anyhow::bail;
use clap::{Args, Subcommand};
use station::actions::{self, ActionError, Actor};

use station::events::Events;
use station::registry::matching::{self, Target};
use station::registry::orders::{self, NewOrder};
use station::registry::patients::{self, NewPatient};
use station::registry::{identity, RegistryError};
use station::store::OrderState;

use super::ConfigArgs;

#[derive(Args)]
pub struct PatientFields {
    /// Chinese name; PN form "王^小明" (family^given) is kept as typed. Required to add.
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    pinyin: Option<String>,
    /// M, F or O; taken from the ID card number when not given.
    #[arg(long)]
    sex: Option<String>,
    /// YYYYMMDD; taken from the ID card number when not given.
    #[arg(long)]
    birth_date: Option<String>,
    /// 18-character national ID card number (15-digit legacy numbers are upgraded).
    #[arg(long)]
    id_card: Option<String>,
    #[arg(long)]
    phone: Option<String>,
}

impl PatientFields {
    /// The given fields over `base` (what is registered now, for an edit).
    fn over(self, base: NewPatient) -> NewPatient {
        NewPatient {
            name: self.name.unwrap_or(base.name),
            pinyin: self.pinyin.or(base.pinyin),
            sex: self.sex.or(base.sex),
            birth_date: self.birth_date.or(base.birth_date),
            id_card: self.id_card.or(base.id_card),
            phone: self.phone.or(base.phone),
            clinic_id: base.clinic_id,
        }
    }
}

#[derive(Args)]
pub struct OrderFields {
    /// The patient's clinic patient ID.
    #[arg(long)]
    patient: String,
    /// DX, CR, US or ECG.
    #[arg(long)]
    modality: String,
    #[arg(long, default_value = "")]
    procedure: String,
    #[arg(long, default_value = "")]
    body_part: String,
    /// routine or urgent.
    #[arg(long)]
    priority: Option<String>,
    #[arg(long, default_value = "")]
    referring: String,
    #[arg(long, default_value = "")]
    note: String,
    /// AE title of the device that should perform it (empty: any).
    #[arg(long, default_value = "")]
    station_ae: String,
    /// YYYYMMDD; today when not given.
    #[arg(long)]
    date: Option<String>,
    #[arg(long)]
    time: Option<String>,
    #[arg(long)]
    accession: Option<String>,
}

impl From<OrderFields> for NewOrder {
    fn from(f: OrderFields) -> NewOrder {
        NewOrder {
            patient: f.patient,
            modality: f.modality,
            procedure: f.procedure,
            body_part: f.body_part,
            priority: f.priority,
            referring: f.referring,
            note: f.note,
            station_ae: f.station_ae,
            scheduled_date: f.date,
            scheduled_time: f.time,
            accession: f.accession,
        }
    }
}

#[derive(Subcommand)]
pub enum PatientAction {
    /// Register a patient; prints the clinic patient ID.
    Add {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        fields: PatientFields,
        /// Clinic patient ID; generated when not given.
        #[arg(long)]
        clinic_id: Option<String>,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Correct a patient's data; studies already sent for them are sent again, corrected.
    Edit {
        #[command(flatten)]
        config: ConfigArgs,
        clinic_id: String,
        #[command(flatten)]
        fields: PatientFields,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Find patients by name, ID card number, phone, clinic ID or pinyin initials.
    Search {
        #[command(flatten)]
        config: ConfigArgs,
        query: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum OrderAction {
    /// Order an exam for a registered patient; prints the accession number.
    Add {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        order: Box<OrderFields>,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Orders scheduled in a date range (today by default).
    List {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Cancel an order (it leaves the worklist).
    Cancel {
        #[command(flatten)]
        config: ConfigArgs,
        accession: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
}

#[derive(Subcommand)]
pub enum StudyAction {
    /// Studies not matched to any order, and those held for "check patient".
    Unassigned {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        json: bool,
    },
    /// Assign a study to an order (or to a new one); what is sent takes the order's patient
    /// data, and the study is sent (again, if it already was).
    Assign {
        #[command(flatten)]
        config: ConfigArgs,
        study_uid: String,
        /// An existing order's accession number.
        #[arg(long, conflicts_with_all = ["patient", "from_study"])]
        order: Option<String>,
        /// A new order for this registered patient (clinic patient ID).
        #[arg(long, conflicts_with = "from_study")]
        patient: Option<String>,
        /// A new patient and order made from the study's own data.
        #[arg(long)]
        from_study: bool,
        /// Assign it even though the device sent another name, sex or birth date than the
        /// patient's (the differences are audited).
        #[arg(long)]
        confirm_mismatch: bool,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Confirm that a study held for "check patient" (the device sent another name, sex or
    /// birth date than its order's patient) is that patient, and send it.
    ConfirmPatient {
        #[command(flatten)]
        config: ConfigArgs,
        study_uid: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
}

use super::open_store as open;

fn print<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn patient_line(p: &patients::Patient) -> String {
    format!(
        "{:<10} {}  {}  {}  {}  {}",
        p.clinic_id,
        p.name,
        if p.sex.is_empty() { "-" } else { &p.sex },
        if p.birth_date.is_empty() {
            "-"
        } else {
            &p.birth_date
        },
        p.id_card.as_deref().unwrap_or("-"),
        if p.phone.is_empty() { "-" } else { &p.phone },
    )
}

pub fn patient(action: PatientAction) -> anyhow::Result<()> {
    match action {
        PatientAction::Add {
            config,
            fields,
            clinic_id,
            actor,
        } => {
            if fields.name.is_none() {
                bail!("--name is required to register a patient");
            }
            let (_, store) = open(&config)?;
            let new = fields.over(NewPatient {
                clinic_id,
                ..Default::default()
            });
            let events = Events::new();
            let p = actions::patient::add(&Actor::new(&store, &events, &actor), &new)?;
            println!("{}", patient_line(&p));
        }
        PatientAction::Edit {
            config,
            clinic_id,
            fields,
            actor,
        } => {
            let (_, store) = open(&config)?;
            let Some(now) = patients::by_clinic_id(&store.lock(), &clinic_id)? else {
                bail!("no registered patient {clinic_id}");
            };
            // Fields not given keep their registered values.
            let new = fields.over(NewPatient {
                name: now.name,
                pinyin: Some(now.pinyin),
                sex: Some(now.sex),
                birth_date: Some(now.birth_date),
                id_card: now.id_card,
                phone: Some(now.phone),
                clinic_id: None,
            });
            let events = Events::new();
            let by = Actor::new(&store, &events, &actor);
            let (p, studies) = actions::patient::update(&by, &clinic_id, &new)?;
            println!("{}", patient_line(&p));
            println!("{studies} sent or queued stud(ies) will be sent again, corrected");
        }
        PatientAction::Search {
            config,
            query,
            json,
        } => {
            let (_, store) = open(&config)?;
            let found = patients::search(&store.lock(), &query, 50)?;
            if json {
                return print(&found);
            }
            if found.is_empty() {
                println!("no patient matches \"{query}\"");
            }
            for p in &found {
                println!("{}", patient_line(p));
            }
        }
    }
    Ok(())
}

fn order_lines(list: &[orders::OrderWithPatient]) {
    if list.is_empty() {
        println!("no orders");
    }
    for o in list {
        println!(
            "{}  {}  {:<4} {:<9} {:<11} {} {}  {}",
            o.order.accession,
            o.order.scheduled_date,
            o.order.modality,
            o.order.priority,
            o.order.state,
            o.patient.clinic_id,
            o.patient.name,
            o.order.procedure
        );
    }
}

pub fn order(action: OrderAction) -> anyhow::Result<()> {
    match action {
        OrderAction::Add {
            config,
            order,
            actor,
        } => {
            let (_, store) = open(&config)?;
            let new = NewOrder::from(*order);
            let events = Events::new();
            let o = actions::order::add(&Actor::new(&store, &events, &actor), &new)?;
            println!(
                "{}  {}  {}  {}",
                o.accession, o.scheduled_date, o.modality, o.study_uid
            );
        }
        OrderAction::List {
            config,
            from,
            to,
            json,
        } => {
            let (_, store) = open(&config)?;
            let today = station::registry::today();
            let from = from.unwrap_or_else(|| today.clone());
            let to = to.unwrap_or_else(|| from.clone());
            let list = orders::list(&store.lock(), &from, &to, &[])?;
            if json {
                return print(&list);
            }
            order_lines(&list);
        }
        OrderAction::Cancel {
            config,
            accession,
            actor,
        } => {
            let (_, store) = open(&config)?;
            let events = Events::new();
            let o = actions::order::cancel(&Actor::new(&store, &events, &actor), &accession)?;
            println!("order {} cancelled", o.accession);
        }
    }
    Ok(())
}

/// Today's worklist: what devices asking for today's orders get.
pub fn worklist(config: &ConfigArgs, json: bool) -> anyhow::Result<()> {
    let (_, store) = open(config)?;
    let today = station::registry::today();
    let list = orders::list(
        &store.lock(),
        &today,
        &today,
        &[OrderState::Scheduled, OrderState::InProgress],
    )?;
    if json {
        return print(&list);
    }
    order_lines(&list);
    Ok(())
}

pub fn study(action: StudyAction) -> anyhow::Result<()> {
    match action {
        StudyAction::Unassigned { config, json } => {
            let (_, store) = open(&config)?;
            let list = matching::unassigned(&store.lock())?;
            if json {
                return print(&list);
            }
            if list.is_empty() {
                println!("every complete study is matched to an order, and none waits for its patient to be checked");
            }
            for s in &list {
                // Linked to an order but held: the device's patient differs from the order's.
                let why = match s.order_ref {
                    Some(_) => "check-patient",
                    None => "no-order",
                };
                println!(
                    "{:<10} {:<13} {}  {}  {} {}  accession {}  {}",
                    s.state,
                    why,
                    s.study_date,
                    s.modalities.join(","),
                    s.patient_id,
                    s.patient_name,
                    if s.accession.is_empty() {
                        "none"
                    } else {
                        &s.accession
                    },
                    s.study_uid
                );
            }
        }
        StudyAction::Assign {
            config,
            study_uid,
            order,
            patient,
            from_study,
            confirm_mismatch,
            actor,
        } => {
            let target = match (order, patient, from_study) {
                (Some(accession), None, false) => Target::Order(accession),
                (None, Some(clinic_id), false) => Target::NewOrderFor(clinic_id),
                (None, None, true) => Target::FromStudy,
                _ => bail!("say where the study goes: --order ACCESSION, --patient CLINIC_ID or --from-study"),
            };
            let (config, store) = open(&config)?;
            let routes = station::lifecycle::routes(&config);
            let events = Events::new();
            let by = Actor::new(&store, &events, &actor);
            let assigned =
                match actions::study::assign(&by, &study_uid, &target, &routes, confirm_mismatch) {
                    Err(ActionError::Registry(RegistryError::PatientMismatch(differences))) => {
                        bail!(
                            "the device sent another patient than the one assigned: {}; \
                         check it, and repeat with --confirm-mismatch if it is the same patient",
                            identity::describe(&differences)
                        )
                    }
                    other => other?,
                };
            println!(
                "study {study_uid} assigned to order {}",
                assigned.order.accession
            );
            if !assigned.differences.is_empty() {
                println!(
                    "confirmed differences: {}",
                    identity::describe(&assigned.differences)
                );
            }
        }
        StudyAction::ConfirmPatient {
            config,
            study_uid,
            actor,
        } => {
            let (config, store) = open(&config)?;
            let routes = station::lifecycle::routes(&config);
            let events = Events::new();
            let by = Actor::new(&store, &events, &actor);
            let confirmed = actions::study::confirm_patient(&by, &study_uid, &routes)?;
            println!(
                "study {study_uid} confirmed as its order's patient ({}); state {}",
                identity::describe(&confirmed.differences),
                confirmed.state
            );
        }
    }
    Ok(())
}
