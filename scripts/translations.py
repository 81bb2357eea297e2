"""Fill the Chinese catalogue from the table below after `pybabel update`.

    .venv/bin/pybabel extract -F babel.cfg -k _l -o /tmp/messages.pot .
    .venv/bin/pybabel update -i /tmp/messages.pot -d civic/translations
    .venv/bin/python scripts/translations.py

Strings already translated in the .po file are kept; the table fills the rest
and replaces pybabel's fuzzy guesses.
"""
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ZH = {
    "Wrong username or password.": "用户名或密码错误。",
    "Please fill in both fields.": "请填写用户名和密码。",
    "You have logged out.": "您已退出登录。",
    "Reported": "已上报",
    "Accepted": "已受理",
    "Rejected": "不予受理",
    "Dispatched": "已派遣",
    "Acknowledged (收到)": "已签收（收到）",
    "Acknowledged": "已签收",
    "Work started": "开始处置",
    "Handled": "已处置",
    "Verified and closed": "核查通过，已结案",
    "In progress": "处置中",
    "Closed": "已结案",
    "Civic grid": "网格通",
    "Open the field app": "打开网格通外勤应用（可离线）",
    "Push notifications": "任务推送状态",
    "Public progress": "公开办理进度",
    "New reports": "待受理上报",
    "Reports waiting to be accepted or dispatched, newest first, with the department the rules chose and likely duplicates.":
        "等待受理或派遣的上报，最新的在前；附系统按规则建议的责任单位和可能的重复上报。",
    "Suggested department": "建议责任单位", "None: choose one": "无：请人工指定", "Possible duplicates": "可能重复",
    "same category nearby": "附近同类问题", "similar photo": "照片相似", "Nothing waiting.": "没有待处理的上报。",
    "Every report the command centre has accepted, and how far it has got. No names, no phone numbers, no exact addresses.":
        "指挥中心受理的每一件问题及其办理进度。不公开姓名、电话和具体地址。",
    "All grids": "全部网格", "Category": "问题类别", "All categories": "全部类别", "Show": "查看",
    "Map of these cases": "这些案件的地图", "%(n)s cases": "共 %(n)s 件", "No cases here.": "这里还没有案件。",
    "Newer": "较新", "Older": "较早", "Before": "处置前", "After": "处置后",
    "Approximate location (about 100 m)": "大致位置（约 100 米范围）",
    "%(reachable)s of %(total)s people get task alerts on a phone. The others learn of new tasks when they open the app, or by SMS.":
        "%(total)s 人中有 %(reachable)s 人的手机能收到任务推送；其他人在打开应用时或通过短信得知新任务。",
    "All staff": "全部工作人员", "Person": "人员", "Phones": "手机数", "Push": "推送",
    "Last delivered": "最近送达", "Last failure": "最近失败", "Active": "可用", "Failing": "失败", "Off": "未开启",
    "Nobody in this group.": "该组没有人员。",
    "Resident": "居民", "Grid worker": "网格员", "Department staff": "部门工作人员", "Dispatcher": "派遣员",
    "Supervisor": "监督员", "Administrator": "管理员",
    "Log out": "退出",
    "Not found": "未找到",
    "This page does not exist, or you may not see it.": "页面不存在，或您无权查看。",
    "Not allowed": "无权访问",
    "Your role may not open this page.": "您的角色无权打开此页面。",
    "Something went wrong": "出错了",
    "Nothing was saved. Please try again in a moment.": "没有保存任何内容，请稍后重试。",
    "Back to the start": "返回首页",
    "Log in": "登录",
    "Username or phone": "用户名或手机号",
    "Password": "密码",
    "Stay logged in on this phone": "在这部手机上保持登录",
    "Photo %(n)s": "照片 %(n)s",
    "Grid": "网格",
    "Outside every grid: waits for the dispatcher": "不在任何网格内：等待派遣员人工分派",
    "Department": "责任部门",
    "Not yet routed": "尚未分派",
    "Acknowledge by": "签收时限",
    "Resolve by": "处置时限",
    "Location": "位置",
    "Map of the case location": "案件位置地图",
    "Timeline": "办理进度",
    "Cases": "案件",
    "No cases yet.": "暂无案件。",
    "No grid": "无网格",
    "phone GPS": "手机定位",
    "photo GPS": "照片定位",
    "address": "地址",
    "unknown": "未知",
}

path = Path(__file__).resolve().parent.parent / "civic/translations/zh/LC_MESSAGES/messages.po"
with path.open("rb") as handle:
    catalog = read_po(handle, locale="zh")
missing = []
for message in catalog:
    # A fuzzy entry is pybabel's guess from a similar string: never trust it.
    if not message.id or (message.string and not message.fuzzy):
        continue
    if message.id in ZH:
        message.string = ZH[message.id]
        message.flags.discard("fuzzy")
    else:
        missing.append(message.id)
with path.open("wb") as handle:
    write_po(handle, catalog, width=100)
if missing:
    print("untranslated:", *missing, sep="\n  ")
