//! The words the shell itself shows (tray, notifications, console), in Chinese by default and in
//! English when the user's locale asks for it. The window's text lives in the web UI.
//!
//! Must never: carry patient data into a log line; names go to the user's own screen only.

/// The shell's language, from the process locale: English only when `LANG`/`LC_ALL` says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn from_env() -> Lang {
        let locale = std::env::var("LC_ALL")
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| std::env::var("LANG").ok())
            .unwrap_or_default();
        if locale.starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn app_name(self) -> &'static str {
        self.pick("基层影像采集站", "Clinic Imaging Station")
    }
    pub fn show_window(self) -> &'static str {
        self.pick("显示窗口", "Show window")
    }
    pub fn quit(self) -> &'static str {
        self.pick("退出（停止接收）", "Quit (stop receiving)")
    }
    pub fn quit_attached(self) -> &'static str {
        self.pick(
            "退出（后台服务继续接收）",
            "Quit (the service keeps receiving)",
        )
    }
    /// The tray's line while attached to a service and nobody has logged in in the window.
    pub fn attached_line(self) -> &'static str {
        self.pick("已连接本机采集站服务", "Showing this PC's station service")
    }
    pub fn still_receiving(self) -> &'static str {
        self.pick(
            "窗口已关闭，仍在接收和发送影像。再次打开本应用或点击托盘图标可显示窗口。",
            "The window is closed; images are still received and sent. Start the app again or use the tray icon to show it.",
        )
    }

    /// One line for the tray: link state, then how many studies wait to be sent.
    pub fn link_line(self, link: LinkState, backlog: i64) -> String {
        let link = match (self, link) {
            (Lang::Zh, LinkState::NoDestination) => "未配置上级中心".to_string(),
            (Lang::Zh, LinkState::Online) => "在线".to_string(),
            (Lang::Zh, LinkState::Offline) => "离线".to_string(),
            (Lang::Zh, LinkState::Partial { online, total }) => {
                format!("部分在线 {online}/{total}")
            }
            (Lang::Zh, LinkState::Unknown) => "连接中".to_string(),
            (Lang::En, LinkState::NoDestination) => "No diagnostic center set".to_string(),
            (Lang::En, LinkState::Online) => "Online".to_string(),
            (Lang::En, LinkState::Offline) => "Offline".to_string(),
            (Lang::En, LinkState::Partial { online, total }) => {
                format!("{online}/{total} online")
            }
            (Lang::En, LinkState::Unknown) => "Connecting".to_string(),
        };
        match self {
            Lang::Zh => format!("{link} · 待发送 {backlog}"),
            Lang::En => format!("{link} · {backlog} to send"),
        }
    }

    pub fn report_arrived(self, patient: &str, is_final: bool) -> (String, String) {
        match self {
            Lang::Zh => (
                if is_final {
                    "报告已返回".into()
                } else {
                    "初步报告已返回".into()
                },
                format!("{patient} 的检查报告已到，请查看。"),
            ),
            Lang::En => (
                if is_final {
                    "Report arrived".into()
                } else {
                    "Preliminary report arrived".into()
                },
                format!("The report for {patient} is back."),
            ),
        }
    }

    pub fn study_overdue(self, patient: &str) -> (String, String) {
        match self {
            Lang::Zh => (
                "检查超时未出报告".into(),
                format!("{patient} 的检查已超过约定时间仍无报告。"),
            ),
            Lang::En => (
                "Study overdue".into(),
                format!("{patient}'s study has passed its turnaround time without a report."),
            ),
        }
    }

    pub fn already_running_headless(self, data_dir: &str) -> String {
        match self {
            Lang::Zh => format!(
                "数据目录 {data_dir} 已被另一个采集站进程（可能是后台服务 station serve）使用。请在浏览器中打开该服务的网页界面，或先停止它。"
            ),
            Lang::En => format!(
                "Another station process (perhaps the background service `station serve`) is using the data directory {data_dir}. Open its web page in a browser, or stop it first."
            ),
        }
    }
}

/// What the tray says about the links to the diagnostic centers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    NoDestination,
    /// Destinations are configured but none has been tried yet.
    Unknown,
    Online,
    Offline,
    Partial {
        online: i64,
        total: i64,
    },
}

/// A DICOM person name (PS3.5 6.2.1: `王^小明`, `Wang^Xiaoming=王^小明`) as a person writes it,
/// and as the web UI shows it: the ideographic group when there is one, Chinese components
/// joined without spaces.
pub fn display_name(dicom_name: &str) -> String {
    let is_cjk = |s: &str| s.chars().any(|c| ('\u{3400}'..='\u{9fff}').contains(&c));
    let mut groups = dicom_name.split('=');
    let first = groups.next().unwrap_or_default();
    let group = groups.find(|g| is_cjk(g)).unwrap_or(first);
    let parts: Vec<&str> = group
        .split('^')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    parts.join(if is_cjk(group) { "" } else { " " })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tray_line_in_both_languages() {
        assert_eq!(Lang::Zh.link_line(LinkState::Online, 3), "在线 · 待发送 3");
        assert_eq!(
            Lang::En.link_line(LinkState::Offline, 0),
            "Offline · 0 to send"
        );
        assert_eq!(
            Lang::Zh.link_line(
                LinkState::Partial {
                    online: 1,
                    total: 2
                },
                5
            ),
            "部分在线 1/2 · 待发送 5"
        );
    }

    #[test]
    fn person_names_read_naturally() {
        assert_eq!(display_name("王^小明"), "王小明");
        assert_eq!(display_name("Wang^Xiaoming=王^小明"), "王小明");
        assert_eq!(display_name("Zhang^San"), "Zhang San");
        assert_eq!(display_name(""), "");
    }
}
