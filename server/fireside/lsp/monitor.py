"""The anomaly monitor: `fireside monitor` as a supervised child while ``prometheusUrl`` is set; its
alerts go to the editor (``fireside/alert`` and a message when one fires or resolves)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from fireside import protocol
from fireside.lsp.feature import LanguageFeature

if TYPE_CHECKING:
    from fireside.lsp.server import FiresideServer

logger = logging.getLogger(__name__)


class MonitorFeature(LanguageFeature):
    name = "monitor"

    def __init__(self, server: FiresideServer) -> None:
        self.server = server
        self.supervisor: Any = None  # fireside.monitor.supervisor.MonitorSupervisor while configured
        self._monitor_argv: list[str] | None = None
        self._alert_status: dict[tuple[tuple[str, str], ...], str] = {}

    async def initialized(self) -> None:
        await self.sync()

    async def configuration_changed(self) -> None:
        await self.sync()

    async def shutdown(self) -> None:
        if self.supervisor is not None:
            await self.supervisor.stop()

    async def sync(self) -> None:
        """Start, restart or stop `fireside monitor` to match the settings."""
        from fireside.monitor.supervisor import MonitorSupervisor, monitor_argv

        if self.server.session_closed:
            return  # the client left while this was on its way: start nothing for nobody
        config = self.server.config
        argv = (
            monitor_argv(config.prometheus_url, config.monitor_queries, config.alertmanager_url, config.monitor_config)
            if config.prometheus_url
            else None
        )
        if argv == self._monitor_argv:
            return
        if self.supervisor is not None:
            await self.supervisor.stop()
            self.supervisor = None
        self._monitor_argv = argv
        if argv is not None and not self.server.session_closed:
            self.supervisor = MonitorSupervisor(argv, self.on_alert, self.on_monitor_status)
            await self.supervisor.start()
            logger.info("anomaly monitor started for %s", config.prometheus_url)

    def on_alert(self, raw: dict[str, Any]) -> None:
        """An alert from the monitor: structured once here, sent whole as fireside/alert, and said in a
        message when it changes (fired, resolved), not when it is re-sent."""
        from fireside.monitor.alert import Alert

        try:
            alert = Alert.from_dict(raw)
        except (TypeError, ValueError, AttributeError) as error:
            logger.warning("ignored a malformed alert from the monitor (%s): %r", error, raw)
            return
        self.server.notify(protocol.ALERT_NOTIFICATION, alert.to_dict())
        key = tuple(sorted((str(k), str(v)) for k, v in alert.labels.items()))
        if self._alert_status.get(key) == alert.status:
            return  # the same alert re-sent while it fires: the user has been told
        self._alert_status[key] = alert.status
        if alert.status == "resolved":
            kind, prefix = types.MessageType.Info, "Resolved"
        else:
            kind = types.MessageType.Error if alert.severity == "error" else types.MessageType.Warning
            prefix = "Anomaly"
        detail = alert.feature_description or alert.summary or ""
        self.server.show(kind, f"Fireside {prefix}: {alert.summary} — {detail}")

    def on_monitor_status(self, text: str) -> None:
        logger.info("monitor: %s", text)
